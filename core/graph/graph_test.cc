#include "core/graph/graph.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

::tensorflow::NodeDef MakeDef(const std::string& name, const std::string& op,
                              AttrMap attrs = {}) {
  ::tensorflow::NodeDef def;
  def.set_name(name);
  def.set_op(op);
  *def.mutable_attr() = std::move(attrs);
  return def;
}

AttrMap FloatT() {
  AttrMap a;
  a["T"] = MakeAttr(::tensorflow::DT_FLOAT);
  return a;
}

AttrMap Placeholder(DataType t) {
  AttrMap a;
  a["dtype"] = MakeAttr(t);
  return a;
}

TEST(GraphTest, NodesEdgesAndExport) {
  Graph g;
  Node* x = *g.AddNode(
      MakeDef("x", "Placeholder", Placeholder(::tensorflow::DT_FLOAT)));
  Node* y = *g.AddNode(
      MakeDef("y", "Placeholder", Placeholder(::tensorflow::DT_FLOAT)));
  Node* add = *g.AddNode(MakeDef("add", "AddV2", FloatT()));
  Node* noop = *g.AddNode(MakeDef("init", "NoOp"));
  ASSERT_TRUE(g.AddEdge(x, 0, add, 0).ok());
  ASSERT_TRUE(g.AddEdge(y, 0, add, 1).ok());
  g.AddControlEdge(noop, add);
  g.AddControlEdge(noop, add);  // Deduplicated.
  EXPECT_EQ(g.num_nodes(), 4);
  EXPECT_EQ(g.num_edges(), 3);
  EXPECT_EQ(add->input_edge(1)->src, y);
  EXPECT_EQ(add->control_in_edges().size(), 1u);
  EXPECT_EQ(g.FindNode("add"), add);
  EXPECT_EQ(g.FindNode("nope"), nullptr);
  // Defaults were filled in.
  EXPECT_TRUE(x->attrs().contains("shape"));

  ::tensorflow::GraphDef def;
  g.ToGraphDef(&def);
  ASSERT_EQ(def.node_size(), 4);
  ASSERT_EQ(def.node(2).input_size(), 3);
  EXPECT_EQ(def.node(2).input(0), "x");
  EXPECT_EQ(def.node(2).input(2), "^init");
}

TEST(GraphTest, AddNodeErrorsNameTheNode) {
  Graph g;
  auto unknown = g.AddNode(MakeDef("n", "NoSuchOp"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("'n'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("NoSuchOp"), std::string::npos);
  auto missing_attr = g.AddNode(MakeDef("m", "AddV2"));
  EXPECT_EQ(missing_attr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing_attr.status().message().find("'T'"), std::string::npos);
  EXPECT_FALSE(g.AddNode(MakeDef("bad name!", "NoOp")).ok());
  EXPECT_FALSE(g.AddNode(MakeDef("", "NoOp")).ok());
  ASSERT_TRUE(g.AddNode(MakeDef("dup", "NoOp")).ok());
  auto dup = g.AddNode(MakeDef("dup", "NoOp"));
  EXPECT_NE(dup.status().message().find("duplicate"), std::string::npos);
}

TEST(GraphTest, EdgeTypeChecks) {
  Graph g;
  Node* i = *g.AddNode(
      MakeDef("i", "Placeholder", Placeholder(::tensorflow::DT_INT32)));
  Node* add = *g.AddNode(MakeDef("add", "AddV2", FloatT()));
  auto wrong = g.AddEdge(i, 0, add, 0);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("expects float"), std::string::npos);
  EXPECT_FALSE(g.AddEdge(i, 1, add, 0).ok());
  EXPECT_FALSE(g.AddEdge(i, 0, add, 2).ok());

  // A ref output feeds a plain input; a plain output cannot feed a ref input.
  AttrMap var;
  var["dtype"] = MakeAttr(::tensorflow::DT_FLOAT);
  var["shape"] = MakeAttr(PartialTensorShape({2}));
  Node* v = *g.AddNode(MakeDef("v", "VariableV2", var));
  Node* f = *g.AddNode(
      MakeDef("f", "Placeholder", Placeholder(::tensorflow::DT_FLOAT)));
  Node* assign = *g.AddNode(MakeDef("assign", "Assign", FloatT()));
  EXPECT_TRUE(g.AddEdge(v, 0, add, 0).ok());
  auto not_ref = g.AddEdge(f, 0, assign, 0);
  ASSERT_FALSE(not_ref.ok());
  EXPECT_NE(not_ref.status().message().find("ref"), std::string::npos);
  EXPECT_TRUE(g.AddEdge(v, 0, assign, 0).ok());
  EXPECT_FALSE(g.AddEdge(v, 0, assign, 0).ok());  // Already connected.
}

TEST(GraphTest, TopologicalOrderAndCycles) {
  Graph g;
  Node* a = *g.AddNode(MakeDef("a", "NoOp"));
  Node* b = *g.AddNode(MakeDef("b", "NoOp"));
  Node* c = *g.AddNode(MakeDef("c", "NoOp"));
  g.AddControlEdge(c, a);
  g.AddControlEdge(a, b);
  auto order = g.TopologicalOrder();
  ASSERT_TRUE(order.ok());
  EXPECT_EQ((*order)[0], c);
  EXPECT_EQ((*order)[2], b);
  g.AddControlEdge(b, c);
  auto cycle = g.TopologicalOrder();
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.status().message().find("cycle"), std::string::npos);
  EXPECT_NE(cycle.status().message().find("'a'"), std::string::npos);
}

}  // namespace
}  // namespace rill
