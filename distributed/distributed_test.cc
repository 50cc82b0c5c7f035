// The distributed runtime on an in-process cluster (1 ps + 2 workers, real
// gRPC on loopback): the same graphs give the same results as the local
// session, with nodes pinned to every task.
#include <random>

#include "core/cc/ops.h"
#include "core/framework/rendezvous.h"
#include "distributed/grpc_session.h"
#include "distributed/test_cluster.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

// A small training graph: variables on the ps, the forward and backward
// passes split over the two workers, the update back on the ps.
::tensorflow::GraphDef PinnedGraph() {
  Scope root = Scope::NewRootScope();
  Scope ps = root.WithDevice("/job:ps/task:0");
  Scope w0 = root.WithDevice("/job:worker/task:0");
  Scope w1 = root.WithDevice("/job:worker/task:1");
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto w =
      ops::VariableV2(ps.WithOpName("w"), PartialTensorShape({3, 2}), DT_FLOAT);
  ops::Assign(ps.WithOpName("init"), w,
              {{0.5f, -1.0f}, {2.0f, 0.25f}, {-0.5f, 1.5f}});
  auto h = ops::MatMul(w0.WithOpName("h"), x, w);
  auto y = ops::Tanh(w1.WithOpName("y"), h);
  auto loss = ops::Sum(w1.WithOpName("loss"), ops::Square(w1, y), {0, 1});
  // d loss / d w = x^T (2 y (1 - y^2)), computed on worker 0.
  auto dy = ops::Mul(w1, ops::Mul(w1, y, 2.0f),
                     ops::Sub(w1, 1.0f, ops::Square(w1, y)));
  auto dw =
      ops::MatMul(w0.WithOpName("dw"), x, dy, ops::MatMul::TransposeA(true));
  ops::ApplyGradientDescent(ps.WithOpName("train"), w, 0.1f, dw);
  (void)loss;
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  return def;
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = TestCluster::Start({{"ps", 1}, {"worker", 2}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }
  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(DistributedTest, SameResultsAsTheLocalSession) {
  const ::tensorflow::GraphDef def = PinnedGraph();
  auto remote = GrpcSession::Create(cluster_->Target("worker", 0), def);
  ASSERT_TRUE(remote.ok()) << remote.status();
  // The local session has one task: the same graph without its devices.
  ::tensorflow::GraphDef unpinned = def;
  for (auto& node : *unpinned.mutable_node()) node.clear_device();
  auto local = Session::Create(unpinned);
  ASSERT_TRUE(local.ok()) << local.status();
  const Tensor x =
      Tensor::FromVector<float>({1, 2, 3, -1, 0.5f, 2}, TensorShape({2, 3}));
  for (SessionInterface* s : {static_cast<SessionInterface*>(remote->get()),
                              static_cast<SessionInterface*>(local->get())}) {
    auto init = s->Run({}, {}, {"init"});
    ASSERT_TRUE(init.ok()) << init.status();
  }
  for (int step = 0; step < 3; ++step) {
    // (Reading w in the step that updates it would race, as in
    // TensorFlow: w is fetched in a step of its own.)
    auto a = (*remote)->Run({{"x", x}}, {"loss", "h:0"}, {"train"});
    auto b = (*local)->Run({{"x", x}}, {"loss", "h:0"}, {"train"});
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    auto wa = (*remote)->Run({}, {"w"}, {});
    auto wb = (*local)->Run({}, {"w"}, {});
    ASSERT_TRUE(wa.ok()) << wa.status();
    ASSERT_TRUE(wb.ok()) << wb.status();
    a->push_back((*wa)[0]);
    b->push_back((*wb)[0]);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_TRUE((*a)[i].Equals((*b)[i]))
          << "step " << step << " fetch " << i << ": " << (*a)[i].DebugString()
          << " vs " << (*b)[i].DebugString();
    }
  }
}

TEST_F(DistributedTest, LargeTensorsCrossTasksIntact) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto on_ps = ops::Identity(root.WithDevice("/job:ps/task:0"), x);
  auto on_w1 = ops::Neg(root.WithDevice("/job:worker/task:1"), on_ps);
  ops::Neg(root.WithOpName("back").WithDevice("/job:worker/task:0"), on_w1);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = GrpcSession::Create(cluster_->Target("worker", 0), def);
  ASSERT_TRUE(session.ok()) << session.status();
  std::mt19937 rng(3);
  std::vector<float> values(16 << 20 / 4 * 4);  // 16 MiB.
  for (float& v : values) v = static_cast<float>(rng() % 1000) / 7.0f;
  const Tensor big = Tensor::FromVector<float>(
      values, TensorShape({static_cast<int64_t>(values.size())}));
  auto out = (*session)->Run({{"x", big}}, {"back"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE((*out)[0].Equals(big));
}

TEST_F(DistributedTest, ARestartedTaskRejoinsAndStaleTransfersAreRefused) {
  auto session =
      GrpcSession::Create(cluster_->Target("worker", 0), PinnedGraph());
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor x = Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}));
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  auto before = (*session)->Run({{"x", x}}, {"loss"}, {});
  ASSERT_TRUE(before.ok()) << before.status();

  // Worker 1 dies: a step that needs it fails, naming it.
  cluster_->Stop("worker", 1);
  auto down = (*session)->Run({{"x", x}}, {"loss"}, {});
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(absl::IsUnavailable(down.status())) << down.status();
  EXPECT_NE(down.status().message().find("/job:worker/replica:0/task:1"),
            std::string::npos)
      << down.status();

  // It comes back with new incarnations and none of the old graphs. A
  // transfer keyed by its old incarnation is refused...
  ASSERT_TRUE(cluster_->Restart("worker", 1).ok());
  ::tensorflow::RecvTensorRequest stale;
  stale.set_step_id(1);
  stale.set_rendezvous_key(Rendezvous::CreateKey(
      "/job:worker/replica:0/task:1/device:CPU:0", 12345,
      "/job:worker/replica:0/task:0/device:CPU:0", "h:0"));
  Tensor ignored;
  bool dead = false;
  absl::Status refused = cluster_->server("worker", 1)
                             ->worker()
                             ->RecvTensor(stale, 100, &ignored, &dead);
  EXPECT_TRUE(absl::IsAborted(refused)) << refused;
  EXPECT_NE(refused.message().find("the task restarted"), std::string::npos);
  // ...and the session goes on: the next step plans against the new task.
  // (The ps kept the variable, so the loss is the same as before.)
  auto after = (*session)->Run({{"x", x}}, {"loss"}, {});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE((*after)[0].Equals((*before)[0]));
}

TEST_F(DistributedTest, BadRequestsAreClearErrors) {
  auto session =
      GrpcSession::Create(cluster_->Target("worker", 1), PinnedGraph());
  ASSERT_TRUE(session.ok()) << session.status();
  auto missing = (*session)->Run({}, {"nope"}, {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no node 'nope'"),
            std::string::npos)
      << missing.status();
  // A kernel error on a remote task comes back with its node's name.
  auto uninit = (*session)->Run(
      {{"x", Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}))}}, {"h"},
      {});
  EXPECT_FALSE(uninit.ok());
  EXPECT_NE(uninit.status().message().find("uninitialized value w"),
            std::string::npos)
      << uninit.status();
  // The cluster still serves after the error.
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  auto ok = (*session)->Run(
      {{"x", Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}))}}, {"h"},
      {});
  EXPECT_TRUE(ok.ok()) << ok.status();

  // Reset drops the cluster's variables: w must be initialized again.
  auto reset = Reset(cluster_->Target("ps", 0));
  ASSERT_TRUE(reset.ok()) << reset;
  auto fresh =
      GrpcSession::Create(cluster_->Target("worker", 1), PinnedGraph());
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  auto after_reset = (*fresh)->Run(
      {{"x", Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}))}}, {"h"},
      {});
  EXPECT_NE(after_reset.status().message().find("uninitialized value w"),
            std::string::npos)
      << after_reset.status();

  auto nowhere = GrpcSession::Create("grpc://localhost:1", PinnedGraph(),
                                     {.connect_timeout_ms = 500});
  EXPECT_EQ(nowhere.status().code(), absl::StatusCode::kUnavailable)
      << nowhere.status();
}

}  // namespace
}  // namespace rill
