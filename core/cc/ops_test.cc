// The generated op functions, used as a client would: build a model, export
// a GraphDef, import it back, and infer shapes.
#include "core/cc/ops.h"

#include "core/graph/graph_import.h"
#include "core/graph/shape_refiner.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::DT_FLOAT;
using ::tensorflow::DT_INT64;

TEST(OpsTest, MlpGraphRoundTripsAndHasShapes) {
  Scope root = Scope::NewRootScope();
  auto x =
      ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                       ops::Placeholder::Shape(PartialTensorShape({-1, 784})));
  auto labels = ops::Placeholder(root.WithOpName("labels"), DT_INT64);
  Scope layer = root.NewSubScope("hidden");
  auto w = ops::VariableV2(layer.WithOpName("w"), PartialTensorShape({784, 64}),
                           DT_FLOAT);
  auto b = ops::VariableV2(layer.WithOpName("b"), PartialTensorShape({64}),
                           DT_FLOAT);
  auto h = ops::Relu(layer, ops::BiasAdd(layer, ops::MatMul(layer, x, w), b));
  auto w2 = ops::VariableV2(root.WithOpName("w2"), PartialTensorShape({64, 10}),
                            DT_FLOAT);
  auto logits = ops::MatMul(root.WithOpName("logits"), h, w2);
  auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(root, logits, labels);
  auto loss = ops::Mean(root.WithOpName("loss"), xent.loss, {0});
  auto init =
      ops::Assign(root.WithOpName("init_b"), b, ops::Fill(root, {64}, 0.0f));
  ASSERT_TRUE(root.ok()) << root.status();

  EXPECT_EQ(h.node()->name(), "hidden/Relu");
  EXPECT_EQ(w.node()->name(), "hidden/w");
  EXPECT_EQ(xent.backprop.index(), 1);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  // Like TensorFlow's, the GraphDef carries every attr, defaults included.
  const auto& mm = def.node(4);
  EXPECT_EQ(mm.op(), "MatMul");
  EXPECT_TRUE(mm.attr().contains("transpose_a"));
  EXPECT_EQ(mm.attr().at("T").type(), DT_FLOAT);

  auto graph = ImportGraphDef(def);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ::tensorflow::GraphDef again;
  (*graph)->ToGraphDef(&again);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(def, again));
  auto shapes = InferShapes(**graph);
  ASSERT_TRUE(shapes.ok()) << shapes.status();
  EXPECT_EQ(shapes->output((*graph)->FindNode("logits"), 0),
            PartialTensorShape({-1, 10}));
  EXPECT_EQ(shapes->output((*graph)->FindNode("loss"), 0),
            PartialTensorShape::Scalar());
  EXPECT_EQ(shapes->output((*graph)->FindNode("init_b"), 0),
            PartialTensorShape({64}));
  (void)init;
}

TEST(OpsTest, OptionalAttrsAndListOutputs) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, {{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  auto t = ops::MatMul(root, a, a, ops::MatMul::TransposeB(true));
  auto parts = ops::Split(root, 1, a, 3);
  auto packed =
      ops::Pack(root, {parts.output[0], parts.output[2]}, ops::Pack::Axis(1));
  auto cat = ops::ConcatV2(root, {a, a}, 0);
  ASSERT_TRUE(root.ok()) << root.status();
  bool tb = false;
  ASSERT_TRUE(GetAttr(t.node()->attrs(), "transpose_b", &tb).ok());
  EXPECT_TRUE(tb);
  ASSERT_EQ(parts.output.size(), 3u);
  EXPECT_EQ(parts.output[2].index(), 2);
  int64_t n = 0;
  ASSERT_TRUE(GetAttr(packed.node()->attrs(), "N", &n).ok());
  EXPECT_EQ(n, 2);

  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto graph = ImportGraphDef(def);
  ASSERT_TRUE(graph.ok()) << graph.status();
  auto shapes = InferShapes(**graph);
  ASSERT_TRUE(shapes.ok()) << shapes.status();
  EXPECT_EQ(shapes->output(t.node(), 0), PartialTensorShape({2, 2}));
  EXPECT_EQ(shapes->output(packed.node(), 0), PartialTensorShape({2, 2, 1}));
  EXPECT_EQ(shapes->output(cat.node(), 0), PartialTensorShape({4, 3}));
}

TEST(OpsTest, InlineConstantsAndBadInitializers) {
  Scope root = Scope::NewRootScope();
  auto y = ops::AddV2(root.WithOpName("y"), {1.0f, 2.0f}, 3.0f);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(y.node()->name(), "y");
  EXPECT_EQ(y.node()->input_edge(0)->src->op(), "Const");
  Scope bad = Scope::NewRootScope();
  ops::AddV2(bad, {{1.0f, 2.0f}, {3.0f}}, 1.0f);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ragged"), std::string::npos);
}

TEST(OpsTest, RefVariablesFeedAssignAndReads) {
  Scope root = Scope::NewRootScope();
  auto v =
      ops::VariableV2(root.WithOpName("v"), PartialTensorShape({2}), DT_FLOAT);
  auto assign = ops::AssignAdd(root, v, {1.0f, 1.0f});
  auto read = ops::Identity(root, v);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(assign.output_ref.type(), ::tensorflow::DT_FLOAT_REF);
  EXPECT_EQ(read.output.type(), DT_FLOAT);
  // A plain tensor cannot be assigned to.
  auto p = ops::Placeholder(root, DT_FLOAT);
  ops::Assign(root, p, {1.0f});
  EXPECT_FALSE(root.ok());
}

}  // namespace
}  // namespace rill

namespace readme {

// The README's example, verbatim apart from the checks.
TEST(OpsTest, ReadmeExample) {
  using namespace rill;  // NOLINT: as the README writes it.
  Scope root = Scope::NewRootScope();
  auto x =
      ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                       ops::Placeholder::Shape(PartialTensorShape({-1, 784})));
  auto w = ops::VariableV2(root.WithOpName("w"), PartialTensorShape({784, 10}),
                           DT_FLOAT);
  auto logits = ops::MatMul(root.WithOpName("logits"), x, w);
  auto probs = ops::Softmax(root.WithOpName("probs"), logits);
  tensorflow::GraphDef def;
  absl::Status s =
      root.ToGraphDef(&def);  // the first error, if any op was wrong
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(def.node_size(), 4);
  EXPECT_EQ(probs.node()->name(), "probs");
}

}  // namespace readme
