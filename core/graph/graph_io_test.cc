#include "core/graph/graph_io.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

::tensorflow::GraphDef SmallGraph() {
  ::tensorflow::GraphDef def;
  auto* n = def.add_node();
  n->set_name("a");
  n->set_op("NoOp");
  def.mutable_versions()->set_producer(1);
  return def;
}

TEST(GraphIoTest, WritesAndReadsBothFormats) {
  for (auto [name, format] : {std::pair{"g.pb", GraphFormat::kBinary},
                              std::pair{"g.pbtxt", GraphFormat::kText}}) {
    const std::string path = TempPath(name);
    EXPECT_EQ(FormatForPath(path), format);
    ASSERT_TRUE(WriteGraphDef(SmallGraph(), path, format).ok());
    auto back = ReadGraphDef(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->SerializeAsString(), SmallGraph().SerializeAsString());
  }
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(GraphIoTest, TheSameGraphIsAlwaysTheSameBytes) {
  // One node's attrs put into its map in two orders: the written files
  // are identical (map entries in key order).
  ::tensorflow::GraphDef forward = SmallGraph(), backward = SmallGraph();
  for (int i = 0; i < 40; ++i) {
    (*forward.mutable_node(0)->mutable_attr())["attr" + std::to_string(i)]
        .set_i(i);
    (*backward.mutable_node(0)->mutable_attr())["attr" + std::to_string(39 - i)]
        .set_i(39 - i);
  }
  const std::string a = TempPath("forward.pb"), b = TempPath("backward.pb");
  ASSERT_TRUE(WriteGraphDef(forward, a, GraphFormat::kBinary).ok());
  ASSERT_TRUE(WriteGraphDef(backward, b, GraphFormat::kBinary).ok());
  EXPECT_EQ(FileBytes(a), FileBytes(b));
  // And .pb -> .pbtxt -> .pb gives the file back.
  const std::string text = TempPath("round.pbtxt"),
                    again = TempPath("again.pb");
  auto read = ReadGraphDef(a);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(WriteGraphDef(*read, text, GraphFormat::kText).ok());
  auto from_text = ReadGraphDef(text);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  ASSERT_TRUE(WriteGraphDef(*from_text, again, GraphFormat::kBinary).ok());
  EXPECT_EQ(FileBytes(a), FileBytes(again));
}

TEST(GraphIoTest, ErrorsNameTheFile) {
  auto missing = ReadGraphDef(TempPath("missing.pb"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.pb"), std::string::npos);

  const std::string text = TempPath("bad.pbtxt");
  std::ofstream(text) << "node {\n  name: \"a\"\n  bogus_field: 3\n}\n";
  auto bad_text = ReadGraphDef(text);
  EXPECT_EQ(bad_text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_text.status().message().find("line 3"), std::string::npos)
      << bad_text.status();

  std::string bytes = SmallGraph().SerializeAsString();
  const std::string truncated = TempPath("truncated.pb");
  std::ofstream(truncated, std::ios::binary)
      << bytes.substr(0, bytes.size() - 3);
  auto bad_binary = ReadGraphDef(truncated);
  EXPECT_EQ(bad_binary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_binary.status().message().find("truncated.pb"),
            std::string::npos);
}

TEST(GraphIoTest, WriteToUnwritablePlaceFails) {
  EXPECT_FALSE(
      WriteGraphDef(SmallGraph(), "/nonexistent-dir/g.pb", GraphFormat::kBinary)
          .ok());
}

}  // namespace
}  // namespace rill
