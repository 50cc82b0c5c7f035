#include <map>

#include "core/cc/ops.h"
#include "core/graph/graph_import.h"
#include "gtest/gtest.h"
#include "runtime/placement/partition.h"
#include "runtime/placement/placer.h"

namespace rill {
namespace {

class PlacementTest : public ::testing::Test {
 protected:
  PlacementTest() {
    for (int i = 0; i < 2; ++i) {
      owned_.push_back(NewCpuDevice("localhost", 0, 0, i));
      devices_.push_back(owned_.back().get());
    }
  }
  std::unique_ptr<Graph> Import(const Scope& root) {
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
    auto g = ImportGraphDef(def);
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? *std::move(g) : nullptr;
  }
  std::vector<std::unique_ptr<Device>> owned_;
  std::vector<Device*> devices_;
};

const char kCpu0[] = "/job:localhost/replica:0/task:0/device:CPU:0";
const char kCpu1[] = "/job:localhost/replica:0/task:0/device:CPU:1";

TEST_F(PlacementTest, RequestsDefaultsAndColocation) {
  Scope root = Scope::NewRootScope();
  auto v = ops::VariableV2(root.WithOpName("v").WithDevice("/device:CPU:1"),
                           PartialTensorShape({2}), DT_FLOAT);
  auto assign = ops::Assign(root.WithOpName("assign"), v, {1.0f, 2.0f});
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Mul(root.WithOpName("y").WithDevice("/cpu:0"), x, v);
  auto z = ops::Identity(root.WithOpName("z").ColocateWith(y), y);
  auto g = Import(root);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(PlaceGraph(g.get(), devices_).ok());
  EXPECT_EQ(g->FindNode("v")->assigned_device(), kCpu1);
  // The Assign consumes v's ref: it goes where v goes.
  EXPECT_EQ(g->FindNode("assign")->assigned_device(), kCpu1);
  EXPECT_EQ(g->FindNode("x")->assigned_device(), kCpu0);
  EXPECT_EQ(g->FindNode("y")->assigned_device(), kCpu0);
  EXPECT_EQ(g->FindNode("z")->assigned_device(), kCpu0);
  (void)assign;
  (void)z;
}

TEST_F(PlacementTest, ClearErrors) {
  Scope root = Scope::NewRootScope();
  ops::NoOp(root.WithOpName("n").WithDevice("/job:ps/task:0"));
  auto g = Import(root);
  ASSERT_NE(g, nullptr);
  auto s = PlaceGraph(g.get(), devices_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'n'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("/job:ps"), std::string::npos) << s;

  // Nodes colocated by request (_class) that ask for different devices.
  Scope conflict = Scope::NewRootScope();
  auto v = ops::VariableV2(conflict.WithOpName("v").WithDevice("/device:CPU:0"),
                           PartialTensorShape({}), DT_FLOAT);
  ops::VariableV2(
      conflict.ColocateWith(v).WithOpName("v2").WithDevice("/device:CPU:1"),
      PartialTensorShape({}), DT_FLOAT);
  auto g2 = Import(conflict);
  ASSERT_NE(g2, nullptr);
  auto s2 = PlaceGraph(g2.get(), devices_);
  EXPECT_EQ(s2.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s2.message().find("same device"), std::string::npos) << s2;

  // A GPU request on a CPU-only task: soft placement puts it on a CPU;
  // without soft placement it is an error.
  Scope gpu = Scope::NewRootScope();
  ops::NoOp(gpu.WithOpName("g").WithDevice("/device:GPU:0"));
  auto g3 = Import(gpu);
  ASSERT_NE(g3, nullptr);
  ASSERT_TRUE(PlaceGraph(g3.get(), devices_).ok());
  EXPECT_EQ(g3->FindNode("g")->assigned_device(), kCpu0);
  PlacerOptions strict;
  strict.allow_soft_placement = false;
  EXPECT_FALSE(PlaceGraph(g3.get(), devices_, strict).ok());
}

TEST_F(PlacementTest, AnOpOnAVariableGoesWhereTheVariableIs) {
  // As in TensorFlow: an op taking the variable itself (ref or resource)
  // that asks for another device runs on the variable's (a global step's
  // increment pinned to the worker by replica_device_setter runs on the
  // ps); an op reading its value stays where it asked to be.
  Scope root = Scope::NewRootScope();
  auto v = ops::VariableV2(root.WithOpName("v").WithDevice("/device:CPU:0"),
                           PartialTensorShape({}), DT_FLOAT);
  ops::Assign(root.WithOpName("a").WithDevice("/device:CPU:1"), v, 1.0f);
  auto h = ops::VarHandleOp(root.WithOpName("h").WithDevice("/device:CPU:0"),
                            DT_FLOAT, PartialTensorShape({}));
  ops::AssignAddVariableOp(root.WithOpName("add").WithDevice("/device:CPU:1"),
                           h, 1.0f);
  ops::Identity(root.WithOpName("read").WithDevice("/device:CPU:1"), v);
  auto g = Import(root);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(PlaceGraph(g.get(), devices_).ok());
  EXPECT_EQ(g->FindNode("a")->assigned_device(), kCpu0);
  EXPECT_EQ(g->FindNode("add")->assigned_device(), kCpu0);
  EXPECT_EQ(g->FindNode("read")->assigned_device(), kCpu1);
}

TEST_F(PlacementTest, TakersOfAResourceThatAsksForNoDeviceGoTogether) {
  // A TensorArray written on CPU:0 and read by an op pinned to CPU:1 (a
  // read inside a loop body pinned elsewhere): the read goes with the
  // array, as TensorFlow places it.
  Scope root = Scope::NewRootScope();
  auto array = ops::TensorArrayV3(root.WithOpName("array"),
                                  ops::Const(root, 2), DT_FLOAT);
  auto write = ops::TensorArrayWriteV3(
      root.WithOpName("write").WithDevice("/device:CPU:0"), array.handle, 0,
      1.0f, array.flow);
  ops::TensorArrayReadV3(root.WithOpName("read").WithDevice("/device:CPU:1"),
                         array.handle, 0, write, DT_FLOAT);
  auto g = Import(root);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(PlaceGraph(g.get(), devices_).ok());
  EXPECT_EQ(g->FindNode("array")->assigned_device(), kCpu0);
  EXPECT_EQ(g->FindNode("write")->assigned_device(), kCpu0);
  EXPECT_EQ(g->FindNode("read")->assigned_device(), kCpu0);
}

TEST_F(PlacementTest, PartitionInsertsOneSendRecvPerTensorAndDevice) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root.WithOpName("a").WithDevice("/device:CPU:0"),
                      {1.0f, 2.0f});
  auto init = ops::NoOp(root.WithOpName("init").WithDevice("/device:CPU:0"));
  Scope on1 = root.WithDevice("/device:CPU:1");
  ops::Neg(on1.WithOpName("b"), a);
  ops::Square(on1.WithOpName("c"), a);  // Same tensor, same device: one pair.
  ops::NoOp(on1.WithOpName("d").WithControlDependencies({init.operation}));
  auto g = Import(root);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(PlaceGraph(g.get(), devices_).ok());
  auto parts = PartitionGraph(*g);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  std::map<std::string, int> ops0, ops1;
  for (const auto& n : parts->at(kCpu0).node()) ++ops0[n.op()];
  for (const auto& n : parts->at(kCpu1).node()) ++ops1[n.op()];
  EXPECT_EQ(ops0["_Send"], 2);  // The tensor a, and the control edge.
  EXPECT_EQ(ops1["_Recv"], 2);
  EXPECT_EQ(ops1["_Send"], 0);
  for (const auto& n : parts->at(kCpu1).node()) {
    if (n.op() != "_Recv") continue;
    EXPECT_EQ(n.attr().at("send_device").s(), kCpu0);
    EXPECT_EQ(n.attr().at("recv_device").s(), kCpu1);
    EXPECT_TRUE(n.attr().contains("tensor_name"));
    EXPECT_TRUE(n.attr().contains("send_device_incarnation"));
    EXPECT_FALSE(n.attr().at("client_terminated").b());
  }
  // Both partitions are valid graphs on their own.
  for (auto& [device, part] : *parts) {
    auto imported = ImportGraphDef(part);
    EXPECT_TRUE(imported.ok()) << device << ": " << imported.status();
  }
}

TEST_F(PlacementTest, AVariableReadOnAnotherDeviceWaitsForWhatTheReadWaitsFor) {
  Scope root = Scope::NewRootScope();
  Scope on0 = root.WithDevice("/device:CPU:0");
  Scope on1 = root.WithDevice("/device:CPU:1");
  auto v =
      ops::VariableV2(on0.WithOpName("v"), PartialTensorShape({}), DT_FLOAT);
  auto inc = ops::AssignAdd(on0.WithOpName("inc"), v, 1.0f);
  auto after = ops::NoOp(on1.WithOpName("after"));
  // Reads after the update (control edge across devices) and after a node
  // of their own device; one read with no order.
  ops::Identity(on1.WithOpName("r1").WithControlDependencies({inc.operation}),
                v);
  ops::Identity(on1.WithOpName("r2").WithControlDependencies({after}), v);
  ops::Identity(on1.WithOpName("r3"), v);
  auto g = Import(root);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(PlaceGraph(g.get(), devices_).ok());
  auto parts = PartitionGraph(*g);
  ASSERT_TRUE(parts.ok()) << parts.status();
  std::map<std::string, const ::tensorflow::NodeDef*> on_1;
  for (const auto& n : parts->at(kCpu1).node()) on_1[n.name()] = &n;
  // Each read has a _Recv of the variable of its own, waiting for the
  // read's other inputs.
  auto recv_of = [&](const std::string& reader) {
    const std::string& input = on_1.at(reader)->input(0);
    EXPECT_EQ(on_1.at(input)->op(), "_Recv") << reader;
    return on_1.at(input);
  };
  const auto* r1 = recv_of("r1");
  const auto* r2 = recv_of("r2");
  const auto* r3 = recv_of("r3");
  EXPECT_NE(r1->name(), r2->name());
  EXPECT_NE(r2->name(), r3->name());
  ASSERT_EQ(r1->input_size(), 1);
  ASSERT_EQ(on_1.at("r1")->input_size(), 2);
  EXPECT_EQ(r1->input(0), on_1.at("r1")->input(1));  // The update's ^_Recv.
  EXPECT_EQ(on_1.at(r1->input(0).substr(1))->op(), "_Recv");
  ASSERT_EQ(r2->input_size(), 1);
  EXPECT_EQ(r2->input(0), "^after");
  EXPECT_EQ(r3->input_size(), 0);
  for (auto& [device, part] : *parts) {
    auto imported = ImportGraphDef(part);
    EXPECT_TRUE(imported.ok()) << device << ": " << imported.status();
  }
}

}  // namespace
}  // namespace rill
