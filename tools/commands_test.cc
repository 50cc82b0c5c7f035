#include "tools/commands.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/graph/graph_io.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rill::tools {
namespace {

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(InspectTest, ReportsATensorFlowGraph) {
  std::ostringstream out;
  ASSERT_TRUE(Inspect({"tests/testdata/convnet.pbtxt"}, out).ok());
  const std::string s = out.str();
  EXPECT_NE(s.find("nodes: 9"), std::string::npos) << s;
  EXPECT_NE(s.find("Conv2D"), std::string::npos) << s;
  EXPECT_NE(s.find("validation: ok"), std::string::npos) << s;
}

TEST(InspectTest, ReportsWhatFailsValidation) {
  const std::string path = Tmp("unknown.pbtxt");
  std::ofstream(path)
      << "node { name: \"a\" op: \"Frob\" }\n"
         "node { name: \"b\" op: \"NoOp\" input: \"^ghost\" }\n";
  std::ostringstream out;
  absl::Status s = Inspect({path}, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Frob"), std::string::npos) << s;
  EXPECT_NE(out.str().find("nodes: 2"), std::string::npos);
  EXPECT_NE(out.str().find("validation: FAILED"), std::string::npos);

  std::ofstream(path)
      << "node { name: \"b\" op: \"NoOp\" input: \"^ghost\" }\n";
  s = Inspect({path}, out);
  EXPECT_NE(s.message().find("ghost"), std::string::npos) << s;
}

TEST(DotTest, DrawsNodesAndEdges) {
  std::ostringstream out;
  ASSERT_TRUE(Dot({"tests/testdata/resource_vars.pb"}, out).ok());
  const std::string s = out.str();
  EXPECT_EQ(s.rfind("digraph rill {", 0), 0u);
  EXPECT_NE(s.find("VarHandleOp"), std::string::npos);
  EXPECT_NE(s.find(" -> "), std::string::npos);
  EXPECT_NE(s.find("style=dashed"), std::string::npos);  // Control edges.
}

TEST(ConvertTest, BinaryToTextAndBackIsLossless) {
  std::ostringstream out;
  const std::string text = Tmp("mlp.pbtxt"), binary = Tmp("mlp.pb");
  ASSERT_TRUE(Convert({"tests/testdata/mlp_train.pb", text}, out).ok());
  ASSERT_TRUE(Convert({text, binary}, out).ok());
  auto a = ReadGraphDef("tests/testdata/mlp_train.pb");
  auto b = ReadGraphDef(binary);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*a, *b));
}

TEST(CommandsTest, UsageErrors) {
  std::ostringstream out;
  EXPECT_EQ(Inspect({}, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Dot({"a", "b"}, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Convert({"a"}, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Inspect({"/no/such/file.pb"}, out).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rill::tools
