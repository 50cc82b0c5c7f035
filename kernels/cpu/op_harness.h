// The op harness: each case is written once (a graph built with the C++
// API and the values it must produce, computed independently in the test)
// and is run on every device type that has kernels (today the CPU; CUDA
// devices join the list when they land).
#ifndef RILL_KERNELS_CPU_OP_HARNESS_H_
#define RILL_KERNELS_CPU_OP_HARNESS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/cc/ops.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {

struct OpCase {
  std::string name;
  // Builds the graph under `scope` (pinned to the device under test) and
  // returns the output to check.
  std::function<Output(const Scope&)> build;
  Tensor expected;
};

inline const std::vector<std::string> kDeviceTypes = {"CPU"};

inline void ExpectClose(const Tensor& got, const Tensor& want,
                        const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what << ": " << got.DebugString();
  if (got.dtype() == DT_FLOAT) {
    for (int64_t i = 0; i < got.NumElements(); ++i) {
      EXPECT_NEAR(got.flat<float>()[i], want.flat<float>()[i], 1e-5)
          << what << " element " << i;
    }
  } else {
    EXPECT_TRUE(got.Equals(want)) << what << ": " << got.DebugString(20)
                                  << " vs " << want.DebugString(20);
  }
}

inline void RunCases(const std::vector<OpCase>& cases) {
  for (const std::string& type : kDeviceTypes) {
    for (const OpCase& c : cases) {
      Scope root = Scope::NewRootScope();
      Output out =
          c.build(root.WithDevice(absl::StrCat("/device:", type, ":0")));
      ops::Identity(root.WithOpName("result"), out);
      ::tensorflow::GraphDef def;
      ASSERT_TRUE(root.ToGraphDef(&def).ok())
          << c.name << ": " << root.status();
      auto session = Session::Create(def);
      ASSERT_TRUE(session.ok()) << c.name << ": " << session.status();
      auto got = (*session)->Run({}, {"result"}, {});
      ASSERT_TRUE(got.ok()) << c.name << " on " << type << ": " << got.status();
      ExpectClose((*got)[0], c.expected, c.name + " on " + type);
    }
  }
}

inline Tensor F(std::vector<float> v, TensorShape s) {
  return Tensor::FromVector<float>(v, s);
}
inline Tensor I(std::vector<int32_t> v, TensorShape s) {
  return Tensor::FromVector<int32_t>(v, s);
}

// Runs the graph `build` makes and returns the step's status (for cases
// that must fail).
inline absl::Status RunStatus(
    const std::function<Output(const Scope&)>& build) {
  Scope root = Scope::NewRootScope();
  ops::Identity(root.WithOpName("result"), build(root));
  ::tensorflow::GraphDef def;
  absl::Status built = root.ToGraphDef(&def);
  if (!built.ok()) return built;
  auto session = Session::Create(def);
  if (!session.ok()) return session.status();
  return (*session)->Run({}, {"result"}, {}).status();
}

// Expects the graph `build` makes to fail with INVALID_ARGUMENT and a
// message that contains `needle`.
inline void ExpectInvalidArgument(
    const std::function<Output(const Scope&)>& build,
    const std::string& needle) {
  absl::Status s = RunStatus(build);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), needle))
      << s << "\nwanted: " << needle;
}

inline Tensor S(std::vector<std::string> v, TensorShape s) {
  return Tensor::FromVector<std::string>(v, s);
}

}  // namespace rill

#endif  // RILL_KERNELS_CPU_OP_HARNESS_H_
