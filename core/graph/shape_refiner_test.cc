#include "core/graph/shape_refiner.h"

#include "absl/strings/str_cat.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::unique_ptr<Graph> Import(const std::string& text) {
  auto def = ParseGraphDef(text, GraphFormat::kText, "test graph");
  EXPECT_TRUE(def.ok()) << def.status();
  auto g = ImportGraphDef(*def);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : nullptr;
}

constexpr char kGraph[] = R"(
  node { name: "x" op: "Placeholder"
         attr { key: "dtype" value { type: DT_FLOAT } }
         attr { key: "shape" value { shape { dim { size: -1 } dim { size: 6 } } } } }
  node { name: "dims" op: "Const"
         attr { key: "dtype" value { type: DT_INT32 } }
         attr { key: "value" value { tensor { dtype: DT_INT32
                tensor_shape { dim { size: 2 } } int_val: 3 int_val: -1 } } } }
  node { name: "r" op: "Reshape" input: "x" input: "dims"
         attr { key: "T" value { type: DT_FLOAT } } }
  node { name: "s" op: "Shape" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  node { name: "z" op: "Fill" input: "s" input: "one"
         attr { key: "T" value { type: DT_FLOAT } } }
  node { name: "one" op: "Const"
         attr { key: "dtype" value { type: DT_FLOAT } }
         attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 1 } } } }
)";

TEST(ShapeRefinerTest, PropagatesConstantsAndShapeValues) {
  auto g = Import(kGraph);
  ASSERT_NE(g, nullptr);
  auto shapes = InferShapes(*g);
  ASSERT_TRUE(shapes.ok()) << shapes.status();
  EXPECT_EQ(shapes->output(g->FindNode("x"), 0), PartialTensorShape({-1, 6}));
  // The batch is unknown, so the -1 stays unknown.
  EXPECT_EQ(shapes->output(g->FindNode("r"), 0), PartialTensorShape({3, -1}));
  EXPECT_EQ(shapes->output(g->FindNode("s"), 0), PartialTensorShape({2}));
  // Fill(Shape(x), 1) has x's partial shape.
  EXPECT_EQ(shapes->output(g->FindNode("z"), 0), PartialTensorShape({-1, 6}));
}

TEST(ShapeRefinerTest, ReportsTheFirstNodeThatDoesNotFit) {
  auto g = Import(R"(
    node { name: "a" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: 2 } dim { size: 3 } } } } }
    node { name: "b" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: 4 } dim { size: 5 } } } } }
    node { name: "mm" op: "MatMul" input: "a" input: "b"
           attr { key: "T" value { type: DT_FLOAT } } }
    node { name: "later" op: "AddV2" input: "a" input: "b"
           attr { key: "T" value { type: DT_FLOAT } } }
  )");
  ASSERT_NE(g, nullptr);
  auto shapes = InferShapes(*g);
  ASSERT_FALSE(shapes.ok());
  EXPECT_NE(shapes.status().message().find("'mm' (MatMul)"), std::string::npos)
      << shapes.status();
}

TEST(ShapeRefinerTest, TensorFlowConvnetShapes) {
  auto def = ReadGraphDef("tests/testdata/convnet.pb");
  if (!def.ok()) GTEST_FAIL() << def.status();
  auto g = ImportGraphDef(*def);
  ASSERT_TRUE(g.ok()) << g.status();
  auto shapes = InferShapes(**g);
  ASSERT_TRUE(shapes.ok()) << shapes.status();
  EXPECT_EQ(shapes->output((*g)->FindNode("flat"), 0),
            PartialTensorShape({8, 196}));
  EXPECT_EQ(shapes->output((*g)->FindNode("probs"), 0),
            PartialTensorShape({8, 196}));
}

}  // namespace
}  // namespace rill
