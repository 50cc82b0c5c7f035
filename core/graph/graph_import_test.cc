#include "core/graph/graph_import.h"

#include "absl/strings/str_cat.h"
#include "core/graph/graph_io.h"
#include "core/graph/shape_refiner.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::GraphDef;

GraphDef Parse(const std::string& text) {
  GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  return def;
}

absl::Status ImportText(const std::string& text) {
  return ImportGraphDef(Parse(text)).status();
}

void ExpectError(const std::string& text, absl::string_view needle) {
  absl::Status s = ImportText(text);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "'" << s.message() << "' lacks '" << needle << "'";
}

constexpr char kFloatPlaceholder[] = R"(
  node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
)";

class FixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, TensorFlowGraphsImportAndRoundTrip) {
  const std::string path = absl::StrCat("tests/testdata/", GetParam());
  auto def = ReadGraphDef(path);
  ASSERT_TRUE(def.ok()) << def.status();
  auto graph = ImportGraphDef(*def);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ((*graph)->num_nodes(), def->node_size());
  GraphDef back;
  (*graph)->ToGraphDef(&back);
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(*def, back)) << diff;
  auto shapes = InferShapes(**graph);
  EXPECT_TRUE(shapes.ok()) << shapes.status();
}

INSTANTIATE_TEST_SUITE_P(TensorFlowFixtures, FixtureTest,
                         ::testing::Values("mlp_train.pb", "mlp_train.pbtxt",
                                           "resource_vars.pb",
                                           "resource_vars.pbtxt", "convnet.pb",
                                           "convnet.pbtxt", "array_ops.pb",
                                           "array_ops.pbtxt"));

TEST(ImportTest, ParseInputRef) {
  EXPECT_EQ(ParseInputRef("a/b")->node, "a/b");
  EXPECT_EQ(ParseInputRef("a:2")->index, 2);
  EXPECT_EQ(ParseInputRef("^a")->index, kControlSlot);
  EXPECT_FALSE(ParseInputRef("a:x").ok());
  EXPECT_FALSE(ParseInputRef("a:-1").ok());
  EXPECT_FALSE(ParseInputRef(":1").ok());
  EXPECT_FALSE(ParseInputRef("^").ok());
}

TEST(ImportTest, UnknownOp) {
  ExpectError(R"(node { name: "n" op: "Frobnicate" })", "Frobnicate");
}

TEST(ImportTest, WrongAttrType) {
  ExpectError(R"(node { name: "x" op: "Placeholder"
                        attr { key: "dtype" value { i: 3 } } })",
              "attr 'dtype': expected type, got int");
}

TEST(ImportTest, DisallowedDtype) {
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "s" op: "Sqrt" input: "x"
             attr { key: "T" value { type: DT_INT32 } } })"),
              "not allowed");
}

TEST(ImportTest, DanglingInput) {
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "id" op: "Identity" input: "ghost:0"
             attr { key: "T" value { type: DT_FLOAT } } })"),
              "'ghost'");
}

TEST(ImportTest, OutputIndexOutOfRange) {
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "id" op: "Identity" input: "x:1"
             attr { key: "T" value { type: DT_FLOAT } } })"),
              "output 1 of 'x'");
}

TEST(ImportTest, InputCountAndOrder) {
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "id" op: "Identity" input: "x" input: "x"
             attr { key: "T" value { type: DT_FLOAT } } })"),
              "more than 1 data inputs");
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "add" op: "AddV2" input: "x"
             attr { key: "T" value { type: DT_FLOAT } } })"),
              "has 1 data inputs but needs 2");
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "n" op: "NoOp" }
      node { name: "id" op: "Identity" input: "^n" input: "x"
             attr { key: "T" value { type: DT_FLOAT } } })"),
              "after a control input");
}

TEST(ImportTest, DtypeMismatch) {
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "id" op: "Identity" input: "x"
             attr { key: "T" value { type: DT_INT64 } } })"),
              "expects int64 but 'x:0' is float");
}

TEST(ImportTest, RefInputNeedsARefOutput) {
  ExpectError(absl::StrCat(kFloatPlaceholder, R"(
      node { name: "a" op: "Assign" input: "x" input: "x"
             attr { key: "T" value { type: DT_FLOAT } } })"),
              "ref");
}

TEST(ImportTest, DuplicateNames) {
  ExpectError(absl::StrCat(kFloatPlaceholder, kFloatPlaceholder), "duplicate");
}

TEST(ImportTest, Cycle) {
  ExpectError(R"(
      node { name: "a" op: "Identity" input: "b"
             attr { key: "T" value { type: DT_FLOAT } } }
      node { name: "b" op: "Identity" input: "a"
             attr { key: "T" value { type: DT_FLOAT } } })",
              "cycle");
}

TEST(ImportTest, ConstWhoseContentDoesNotFitItsShape) {
  auto graph = ImportGraphDef(Parse(R"(
      node { name: "c" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
             attr { key: "value" value { tensor { dtype: DT_FLOAT
               tensor_shape { dim { size: 3 } } tensor_content: "abcd" } } } })"));
  ASSERT_TRUE(graph.ok());  // Attrs are well-formed; the value is checked
                            // with the shapes.
  auto shapes = InferShapes(**graph);
  ASSERT_FALSE(shapes.ok());
  EXPECT_NE(shapes.status().message().find("'c' (Const)"), std::string::npos);
  EXPECT_NE(shapes.status().message().find("tensor_content"),
            std::string::npos);
}

TEST(ImportTest, FunctionLibraryIsKept) {
  GraphDef def = Parse(R"(
      node { name: "a" op: "NoOp" }
      library { function { signature { name: "f" }
                           ret { key: "out" value: "x:y:0" } } })");
  auto graph = ImportGraphDef(def);
  ASSERT_TRUE(graph.ok()) << graph.status();
  GraphDef back;
  (*graph)->ToGraphDef(&back);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(def, back));
}

TEST(ImportTest, NodeLimit) {
  ImportOptions options;
  options.max_nodes = 1;
  auto r = ImportGraphDef(Parse(R"(node { name: "a" op: "NoOp" }
                                   node { name: "b" op: "NoOp" })"),
                          options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ImportTest, MillionNodeChainImports) {
  GraphDef def;
  constexpr int kNodes = 1'000'000;
  auto* x = def.add_node();
  x->set_name("n0");
  x->set_op("Placeholder");
  (*x->mutable_attr())["dtype"].set_type(::tensorflow::DT_FLOAT);
  (*x->mutable_attr())["shape"].mutable_shape();  // A scalar.
  for (int i = 1; i < kNodes; ++i) {
    auto* n = def.add_node();
    n->set_name(absl::StrCat("n", i));
    n->set_op("Neg");
    n->add_input(absl::StrCat("n", i - 1));
    (*n->mutable_attr())["T"].set_type(::tensorflow::DT_FLOAT);
  }
  auto graph = ImportGraphDef(def);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ((*graph)->num_nodes(), kNodes);
  auto shapes = InferShapes(**graph);
  ASSERT_TRUE(shapes.ok());
  Node* last = (*graph)->FindNode(absl::StrCat("n", kNodes - 1));
  EXPECT_EQ(shapes->output(last, 0), PartialTensorShape::Scalar());
}

}  // namespace
}  // namespace rill
