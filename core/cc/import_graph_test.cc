#include "core/cc/import_graph.h"

#include "core/cc/ops.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::DT_FLOAT;

// x -> MatMul(x, w) -> loss, w a resource variable with an initializer,
// and a node pinned to another task.
::tensorflow::GraphDef Model() {
  Scope s = Scope::NewRootScope();
  auto x = ops::Placeholder(s.WithOpName("x"), DT_FLOAT);
  auto w = ops::VarHandleOp(s.WithOpName("w").WithDevice("/device:CPU:0"),
                            DT_FLOAT, PartialTensorShape({2, 1}),
                            ops::VarHandleOp::SharedName("w"));
  auto init = ops::AssignVariableOp(s.WithOpName("w/Assign").ColocateWith(w), w,
                                    {{1.0f}, {2.0f}});
  auto read = ops::ReadVariableOp(s.WithOpName("read"), w, DT_FLOAT);
  auto y =
      ops::MatMul(s.WithOpName("y").WithControlDependencies({init}), x, read);
  ops::Sum(s.WithOpName("loss").WithDevice("/job:ps/task:0/device:CPU:0"), y,
           {0, 1});
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(s.ToGraphDef(&def).ok());
  return def;
}

TEST(ImportIntoScopeTest, RenamesAndPlacesEveryNode) {
  Scope root = Scope::NewRootScope();
  Scope replica = root.NewSubScope("replica_1");
  auto nodes =
      ImportIntoScope(replica.WithDevice("/job:worker/task:1"), Model());
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  Node* loss = nodes->at("loss");
  EXPECT_EQ(loss->name(), "replica_1/loss");
  EXPECT_EQ(loss->requested_device(), "/job:worker/task:1/device:CPU:0");
  EXPECT_EQ(nodes->at("w")->requested_device(),
            "/job:worker/task:1/device:CPU:0");
  EXPECT_EQ(nodes->at("x")->requested_device(), "/job:worker/task:1");
  EXPECT_EQ(nodes->at("w")->attrs().at("shared_name").s(), "replica_1/w");
  EXPECT_EQ(nodes->at("w/Assign")->attrs().at("_class").list().s(0),
            "loc:@replica_1/w");
  Node* y = nodes->at("y");
  EXPECT_EQ(y->input_edge(0)->src->name(), "replica_1/x");
  EXPECT_EQ(y->input_edge(1)->src->name(), "replica_1/read");
  ASSERT_EQ(y->control_in_edges().size(), 1u);
  EXPECT_EQ(y->control_in_edges()[0]->src->name(), "replica_1/w/Assign");
  // The C++ API goes on from the imported nodes.
  auto twice = ops::Mul(replica, Output(loss), 2.0f);
  EXPECT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(twice.node()->name(), "replica_1/Mul");
}

TEST(ImportIntoScopeTest, TwoImportsAreIndependent) {
  Scope root = Scope::NewRootScope();
  ASSERT_TRUE(ImportIntoScope(root.NewSubScope("a"), Model()).ok());
  ASSERT_TRUE(ImportIntoScope(root.NewSubScope("b"), Model()).ok());
  EXPECT_EQ(root.graph()->num_nodes(), 2 * Model().node_size());
}

TEST(ImportIntoScopeTest, AtTheRootKeepsNamesAndDevices) {
  Scope root = Scope::NewRootScope();
  auto nodes = ImportIntoScope(root, Model());
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(nodes->at("loss")->name(), "loss");
  EXPECT_EQ(nodes->at("loss")->requested_device(),
            "/job:ps/task:0/device:CPU:0");
}

TEST(ImportIntoScopeTest, TakenNamesFailAndAddNothing) {
  Scope root = Scope::NewRootScope();
  ASSERT_TRUE(ImportIntoScope(root, Model()).ok());
  const int before = root.graph()->num_nodes();
  auto twice = ImportIntoScope(root, Model());
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("already has"), std::string::npos)
      << twice.status();
  EXPECT_EQ(root.graph()->num_nodes(), before);
}

TEST(ImportIntoScopeTest, InvalidGraphDefNamesTheNode) {
  ::tensorflow::GraphDef def = Model();
  def.mutable_node(1)->add_input("nowhere");
  Scope root = Scope::NewRootScope();
  auto nodes = ImportIntoScope(root.NewSubScope("r"), def);
  ASSERT_FALSE(nodes.ok());
  EXPECT_NE(nodes.status().message().find(def.node(1).name()),
            std::string::npos)
      << nodes.status();
  EXPECT_EQ(root.graph()->num_nodes(), 0);
}

TEST(ImportIntoScopeTest, InputMapRewiresReaders) {
  Scope root = Scope::NewRootScope();
  auto fed = ops::Const(root.WithOpName("rows"), {{1.0f, 2.0f}});
  auto nodes = ImportIntoScope(root.NewSubScope("r"), Model(), {{"x", fed}});
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(nodes->at("y")->input_edge(0)->src->name(), "rows");
  EXPECT_TRUE(nodes->at("x")->out_edges().empty());

  auto wrong_dtype = ops::Const(root, {1});
  auto bad =
      ImportIntoScope(root.NewSubScope("s"), Model(), {{"x:0", wrong_dtype}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'x:0' is float"), std::string::npos)
      << bad.status();
  auto missing =
      ImportIntoScope(root.NewSubScope("t"), Model(), {{"nope:0", fed}});
  EXPECT_NE(missing.status().message().find("'nope:0'"), std::string::npos)
      << missing.status();
}

TEST(MergeDeviceUnderTest, OuterPlacementWinsDeviceTypeStays) {
  EXPECT_EQ(
      MergeDeviceUnder("/job:worker/task:2", "/job:ps/task:0/device:CPU:1"),
      "/job:worker/task:2/device:CPU:1");
  EXPECT_EQ(MergeDeviceUnder("", "/job:ps/task:0"), "/job:ps/task:0");
  EXPECT_EQ(MergeDeviceUnder("/job:w/task:0", ""), "/job:w/task:0");
  EXPECT_EQ(MergeDeviceUnder("/device:CPU:1", "/job:ps/task:0"),
            "/job:ps/task:0/device:CPU:1");
  EXPECT_EQ(MergeDeviceUnder("/job:w/device:CPU:1", "/device:CPU:0"),
            "/job:w/device:CPU:0");
  EXPECT_EQ(MergeDeviceUnder("", ""), "");
}

}  // namespace
}  // namespace rill
