// Element-wise math kernels on the op harness, checked against values
// known in closed form.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/platform/file_root.h"
#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

TEST(CwiseOpsTest, TrigonometricAndHyperbolicFunctions) {
  const float pi = 3.14159265358979f;
  const float ln2 = 0.69314718f;
  auto one = [](std::function<Output(const Scope&, Output)> f, float x) {
    return [f, x](const Scope& s) { return f(s, ops::Const(s, {x})); };
  };
  RunCases({
      {"Sin(pi/6)",
       one([](const Scope& s, Output x) { return ops::Sin(s, x); }, pi / 6),
       F({0.5f}, {1})},
      {"Cos(pi/3)",
       one([](const Scope& s, Output x) { return ops::Cos(s, x); }, pi / 3),
       F({0.5f}, {1})},
      {"Tan(pi/4)",
       one([](const Scope& s, Output x) { return ops::Tan(s, x); }, pi / 4),
       F({1}, {1})},
      {"Asin(1)",
       one([](const Scope& s, Output x) { return ops::Asin(s, x); }, 1),
       F({pi / 2}, {1})},
      {"Acos(0.5)",
       one([](const Scope& s, Output x) { return ops::Acos(s, x); }, 0.5f),
       F({pi / 3}, {1})},
      {"Atan(1)",
       one([](const Scope& s, Output x) { return ops::Atan(s, x); }, 1),
       F({pi / 4}, {1})},
      {"Sinh(ln 2)",
       one([](const Scope& s, Output x) { return ops::Sinh(s, x); }, ln2),
       F({0.75f}, {1})},
      {"Cosh(ln 2)",
       one([](const Scope& s, Output x) { return ops::Cosh(s, x); }, ln2),
       F({1.25f}, {1})},
      {"Asinh(0.75)",
       one([](const Scope& s, Output x) { return ops::Asinh(s, x); }, 0.75f),
       F({ln2}, {1})},
      {"Acosh(1.25)",
       one([](const Scope& s, Output x) { return ops::Acosh(s, x); }, 1.25f),
       F({ln2}, {1})},
      {"Atanh(0.6)",
       one([](const Scope& s, Output x) { return ops::Atanh(s, x); }, 0.6f),
       F({ln2}, {1})},
      {"Expm1(ln 2)",
       one([](const Scope& s, Output x) { return ops::Expm1(s, x); }, ln2),
       F({1}, {1})},
      {"Inv(4)",
       one([](const Scope& s, Output x) { return ops::Inv(s, x); }, 4),
       F({0.25f}, {1})},
  });
}

TEST(CwiseOpsTest, ReverseBroadcastArgsAndInTopK) {
  RunCases({
      {"ReverseV2 of the last axis, negative",
       [](const Scope& s) {
         return ops::ReverseV2(s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}),
                               ops::Const(s, {-1}));
       },
       I({3, 2, 1, 6, 5, 4}, {2, 3})},
      {"ReverseV2 of both axes",
       [](const Scope& s) {
         return ops::ReverseV2(s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}),
                               ops::Const(s, {0, 1}));
       },
       F({4, 3, 2, 1}, {2, 2})},
      {"Equal and NotEqual of strings (to_sparse_input of string features)",
       [](const Scope& s) {
         auto a = ops::Const(
             s, {std::string("x"), std::string(""), std::string("yz")});
         auto b = ops::Const(s, std::string(""));
         return ops::Cast(
             s, ops::Pack(s, {ops::Equal(s, a, b), ops::NotEqual(s, a, b)}),
             DT_INT32);
       },
       I({0, 1, 0, 1, 0, 1}, {2, 3})},
      {"BroadcastArgs",
       [](const Scope& s) {
         return ops::BroadcastArgs(s, ops::Const(s, {2, 1, 3}),
                                   ops::Const(s, {4, 1}));
       },
       I({2, 4, 3}, {3})},
      {"InTopKV2: ties at the boundary count; a NaN row and an unknown class "
       "never do",
       [](const Scope& s) {
         const float nan = std::nanf("");
         auto predictions = ops::Const(s, {{0.1f, 0.5f, 0.5f, 0.2f},
                                           {0.9f, 0.05f, 0.02f, 0.03f},
                                           {0.1f, nan, 0.3f, 0.6f},
                                           {0.1f, 0.2f, 0.3f, 0.4f}});
         return ops::Cast(
             s,
             ops::InTopKV2(s, predictions, ops::Const(s, {2, 1, 3, 7}),
                           ops::Const(s, 1)),
             DT_INT32);
       },
       I({1, 0, 0, 0}, {4})},
  });
}

TEST(CwiseOpsTest, LoggingOpsFormatAndCheck) {
  RunCases({
      {"StringFormat summarizes like numpy",
       [](const Scope& s) {
         return ops::StringFormat(
             s,
             {ops::Const(s, {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}),
              ops::Const(s, 2.5f)},
             ops::StringFormat::Template("m={} x={}")
                 .Placeholder("{}")
                 .Summarize(2));
       },
       S({"m=[[1 2 ... 4 5]\n [6 7 ... 9 10]] x=2.5"}, {})},
      {"Print passes its input on",
       [](const Scope& s) {
         return ops::Print(s, ops::Const(s, {1.0f, 2.0f}),
                           {ops::Const(s, {3, 4})},
                           ops::Print::Message("printed: "));
       },
       F({1, 2}, {2})},
  });
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::CheckNumerics(
            s, ops::Const(s, {1.0f, std::numeric_limits<float>::infinity()}),
            "loss");
      },
      "loss : Tensor had Inf values");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::StringFormat(
            s, {ops::Const(s, 1)},
            ops::StringFormat::Template("{} and {}").Placeholder("{}"));
      },
      "the template has 2 placeholders for 1 inputs");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto print = ops::PrintV2(s, ops::Const(s, std::string("x")),
                                  ops::PrintV2::OutputStream("nowhere"));
        return ops::Identity(s.WithControlDependencies({print.operation}),
                             ops::Const(s, 1));
      },
      "unknown output_stream 'nowhere'");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::ReverseV2(s, ops::Const(s, {1, 2}), ops::Const(s, {0, -1}));
      },
      "axis -1 is named more than once");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::BroadcastArgs(s, ops::Const(s, {2, 3}), ops::Const(s, {4}));
      },
      "incompatible shapes at dimension 1: 3 and 4");
}

TEST(CwiseOpsTest, PrintV2AppendsToAFileUnderTheFileRoot) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string path = dir + "/printed.txt";
  std::remove(path.c_str());
  auto run = [](const std::string& stream) {
    Scope root = Scope::NewRootScope();
    auto print = ops::PrintV2(root.WithOpName("print"),
                              ops::Const(root, std::string("loss 0.5")),
                              ops::PrintV2::OutputStream(stream));
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(root.ToGraphDef(&def).ok());
    auto session = Session::Create(def);
    if (!session.ok()) return session.status();
    absl::Status s = (*session)->Run({}, {}, {"print"}).status();
    if (s.ok()) s = (*session)->Run({}, {}, {"print"}).status();
    return s;
  };
  ASSERT_TRUE(SetFileRoot(dir).ok());
  absl::Status in_root = run("file://" + path);
  absl::Status outside = run("file://" + dir + "/../escaped.txt");
  ASSERT_TRUE(SetFileRoot("").ok());
  ASSERT_TRUE(in_root.ok()) << in_root;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "loss 0.5\nloss 0.5\n");
  EXPECT_EQ(outside.code(), absl::StatusCode::kPermissionDenied) << outside;
  EXPECT_NE(outside.message().find("node 'print'"), std::string::npos)
      << outside;
}

TEST(CwiseOpsTest, OutsideTheDomainIsNan) {
  // As TensorFlow: asin(2) and acosh(0) are NaN, not errors.
  Scope root = Scope::NewRootScope();
  ops::Identity(root.WithOpName("a"), ops::Asin(root, ops::Const(root, 2.0f)));
  ops::Identity(root.WithOpName("b"), ops::Acosh(root, ops::Const(root, 0.0f)));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  auto got = (*session)->Run({}, {"a", "b"}, {});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(std::isnan((*got)[0].scalar<float>()));
  EXPECT_TRUE(std::isnan((*got)[1].scalar<float>()));
}

}  // namespace
}  // namespace rill
