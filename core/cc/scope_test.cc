#include "core/cc/scope.h"

#include "core/cc/ops.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::DT_FLOAT;

TEST(ScopeTest, UniqueNamesLikeTensorFlow) {
  Scope root = Scope::NewRootScope();
  auto a = ops::NoOp(root);
  auto b = ops::NoOp(root);
  auto c = ops::NoOp(root.WithOpName("named"));
  auto d = ops::NoOp(root.WithOpName("named"));
  EXPECT_EQ(a.operation.name(), "NoOp");
  EXPECT_EQ(b.operation.name(), "NoOp_1");
  EXPECT_EQ(c.operation.name(), "named");
  EXPECT_EQ(d.operation.name(), "named_1");
  Scope layer = root.NewSubScope("layer");
  Scope layer2 = root.NewSubScope("layer");
  EXPECT_EQ(ops::NoOp(layer).operation.name(), "layer/NoOp");
  EXPECT_EQ(ops::NoOp(layer2).operation.name(), "layer_1/NoOp");
  EXPECT_EQ(
      ops::NoOp(layer.NewSubScope("inner").WithOpName("x")).operation.name(),
      "layer/inner/x");
}

TEST(ScopeTest, DeviceControlDepsAndColocation) {
  Scope root = Scope::NewRootScope();
  auto init = ops::NoOp(root.WithOpName("init"));
  auto x = ops::Placeholder(root.WithOpName("x").WithDevice("/job:ps/task:0"),
                            DT_FLOAT);
  auto y = ops::Identity(root.WithOpName("y")
                             .WithControlDependencies({init.operation})
                             .ColocateWith(x),
                         x);
  EXPECT_EQ(x.node()->requested_device(), "/job:ps/task:0");
  ASSERT_EQ(y.node()->control_in_edges().size(), 1u);
  EXPECT_EQ(y.node()->control_in_edges()[0]->src, init.node());
  std::vector<std::string> group;
  ASSERT_TRUE(GetAttr(y.node()->attrs(), "_class", &group).ok());
  EXPECT_EQ(group, std::vector<std::string>{"loc:@x"});
  // Colocating with y joins x's group.
  auto z = ops::Identity(root.ColocateWith(y), y);
  ASSERT_TRUE(GetAttr(z.node()->attrs(), "_class", &group).ok());
  EXPECT_EQ(group, std::vector<std::string>{"loc:@x"});
}

TEST(ScopeTest, FirstErrorIsKeptAndReturned) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root, DT_FLOAT);
  auto i = ops::Placeholder(root, ::tensorflow::DT_INT32);
  auto bad = ops::AddV2(root, x, i);  // Mismatched dtypes.
  EXPECT_FALSE(root.ok());
  EXPECT_EQ(bad.node(), nullptr);
  auto later = ops::Neg(root, x);  // Does nothing after an error.
  EXPECT_EQ(later.node(), nullptr);
  ::tensorflow::GraphDef def;
  absl::Status s = root.ToGraphDef(&def);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("AddV2"), std::string::npos) << s;
  EXPECT_NE(s.message().find("int32"), std::string::npos) << s;
}

}  // namespace
}  // namespace rill
