// The distributed runtime on an in-process cluster (1 ps + 2 workers, real
// gRPC on loopback): the same graphs give the same results as the local
// session, with nodes pinned to every task.
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/cc/ops.h"
#include "core/framework/rendezvous.h"
#include "core/framework/tensor_proto.h"
#include "distributed/grpc_session.h"
#include "distributed/protos/master_service.grpc.pb.h"
#include "distributed/test_cluster.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
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

// "host:port" of a "grpc://host:port" target.
std::string HostPort(const std::string& target) {
  return target.substr(strlen("grpc://"));
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = TestCluster::Start({{"ps", 1}, {"worker", 2}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }
  // The ps's master as TensorFlow's client talks to it: through its own
  // stub, with a session made there for `root`'s graph. Returns the
  // session's handle ("" after a failure, which the test is told of).
  std::string CreateSessionAtPs(const Scope& root) {
    master_ = ::tensorflow::MasterService::NewStub(
        grpc::CreateChannel(HostPort(cluster_->Target("ps", 0)),
                            grpc::InsecureChannelCredentials()));
    ::tensorflow::CreateSessionRequest create;
    if (!root.ToGraphDef(create.mutable_graph_def()).ok()) {
      ADD_FAILURE() << root.status();
      return "";
    }
    ::tensorflow::CreateSessionResponse created;
    grpc::ClientContext ctx;
    grpc::Status s = master_->CreateSession(&ctx, create, &created);
    if (!s.ok()) ADD_FAILURE() << s.error_message();
    return created.session_handle();
  }
  std::unique_ptr<TestCluster> cluster_;
  std::unique_ptr<::tensorflow::MasterService::Stub> master_;
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

// Reads ordered after an update of a variable on another device, in the
// patterns TensorFlow's clients write: a global step incremented on the
// ps and read on a worker under a control dependency on the train op.
// `ps` and `worker` are the two devices ("" for one device).
::tensorflow::GraphDef ReadAfterUpdateGraph(const std::string& ps,
                                            const std::string& worker) {
  Scope root = Scope::NewRootScope();
  Scope on_ps = root.WithDevice(ps);
  Scope on_w = root.WithDevice(worker);
  auto gs =
      ops::VariableV2(on_ps.WithOpName("gs"), PartialTensorShape({}), DT_INT64);
  auto init = ops::Assign(on_ps.WithOpName("init"), gs, int64_t{0});
  auto handle = ops::VarHandleOp(on_ps.WithOpName("rv"), DT_INT64,
                                 PartialTensorShape({}));
  auto init_rv =
      ops::AssignVariableOp(on_ps.WithOpName("init_rv"), handle, int64_t{0});
  // The increments, on the ps (as a global step's is, colocated), come
  // late in the step: after the worker has computed for a while (its
  // gradients), as in training.
  Output m = ops::Fill(on_w, {300, 300}, 0.001f);
  for (int i = 0; i < 20; ++i) m = ops::MatMul(on_w, m, m);
  auto one = ops::Const(
      on_w.WithOpName("one").WithControlDependencies({m.op()}), int64_t{1});
  auto inc = ops::AssignAdd(on_ps.WithOpName("inc"), gs, one);
  auto inc_rv =
      ops::AssignAddVariableOp(on_ps.WithOpName("inc_rv"), handle, one);
  // 1: the read on the worker depends on the increment itself.
  ops::Identity(on_w.WithOpName("r1").WithControlDependencies({inc.operation}),
                gs);
  // 2: on a train op of the worker's that depends on the increments.
  auto train = ops::NoOp(on_w.WithOpName("train").WithControlDependencies(
      {inc.operation, inc_rv.operation}));
  ops::Identity(
      on_w.WithOpName("r2").WithControlDependencies({train.operation}), gs);
  // 3: the variable as one input of an op, another input computed after
  // the increment.
  auto after = ops::Identity(on_w.WithOpName("after"), inc);
  ops::Add(on_w.WithOpName("r3"), gs, ops::Sub(on_w, after, after));
  // 4: a resource variable read on the ps after the worker's train op.
  ops::ReadVariableOp(
      on_ps.WithOpName("r4").WithControlDependencies({train.operation}), handle,
      DT_INT64);
  (void)init;
  (void)init_rv;
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  return def;
}

// Runs five steps of the graph's reads; each must see that step's update.
void ExpectReadsAfterUpdates(SessionInterface* session, const char* layout) {
  ASSERT_TRUE(session->Run({}, {}, {"init", "init_rv"}).ok()) << layout;
  for (int64_t step = 1; step <= 5; ++step) {
    auto got = session->Run({}, {"r1", "r2", "r3", "r4"}, {});
    ASSERT_TRUE(got.ok()) << layout << ": " << got.status();
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ((*got)[i].flat<int64_t>()[0], step)
          << layout << ", step " << step << ", r" << i + 1;
    }
  }
}

TEST_F(DistributedTest, ReadsAfterUpdatesSeeThemOnOneTwoDevicesAndTasks) {
  auto one = Session::Create(ReadAfterUpdateGraph("", ""));
  ASSERT_TRUE(one.ok()) << one.status();
  ExpectReadsAfterUpdates(one->get(), "one device");
  auto two =
      Session::Create(ReadAfterUpdateGraph("/device:CPU:0", "/device:CPU:1"),
                      {.num_cpu_devices = 2});
  ASSERT_TRUE(two.ok()) << two.status();
  ExpectReadsAfterUpdates(two->get(), "two devices");
  auto tasks = GrpcSession::Create(
      cluster_->Target("worker", 0),
      ReadAfterUpdateGraph("/job:ps/task:0", "/job:worker/task:1"));
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ExpectReadsAfterUpdates(tasks->get(), "ps and worker tasks");
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
  // 256 MiB: fed to the master, sent to the ps, received by worker 1 and
  // then by worker 0 (two RecvTensor calls between tasks), fetched back.
  const int64_t n = (int64_t{256} << 20) / 4;
  auto made = Tensor::CreateUninitialized(DT_FLOAT, TensorShape({n}));
  ASSERT_TRUE(made.ok()) << made.status();
  Tensor big = *std::move(made);
  float* v = big.flat<float>().data();
  for (int64_t i = 0; i < n; ++i) {
    v[i] = static_cast<float>((i * 2654435761u) % 100003) / 7.0f;
  }
  auto out = (*session)->Run({{"x", big}}, {"back"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE((*out)[0].Equals(big));
}

TEST_F(DistributedTest, TracedStepsReturnEveryTasksNodeTimings) {
  auto session =
      GrpcSession::Create(cluster_->Target("worker", 0), PinnedGraph());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  const Tensor x = Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}));
  RunMetadata meta;
  const int64_t before =
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto out = (*session)->Run({{"x", x}}, {"loss"}, {"train"}, &meta);
  ASSERT_TRUE(out.ok()) << out.status();
  std::map<std::string, std::set<std::string>> ops_by_device;
  for (const NodeExecStats& s : meta.step_stats) {
    ops_by_device[s.device].insert(s.op);
    EXPECT_GE(s.start_us, before) << s.node_name;
    EXPECT_GE(s.end_us, s.start_us) << s.node_name;
    if (s.node_name == "train") {
      EXPECT_EQ(s.device, "/job:ps/replica:0/task:0/device:CPU:0");
      EXPECT_EQ(s.op, "ApplyGradientDescent");
    }
  }
  ASSERT_EQ(ops_by_device.size(), 3u);
  EXPECT_TRUE(
      ops_by_device["/job:worker/replica:0/task:0/device:CPU:0"].contains(
          "MatMul"));
  EXPECT_TRUE(
      ops_by_device["/job:worker/replica:0/task:1/device:CPU:0"].contains(
          "Tanh"));
  EXPECT_TRUE(
      ops_by_device["/job:ps/replica:0/task:0/device:CPU:0"].contains("_Recv"));

  // Through the master's own API, as TensorFlow's client asks: a step
  // carries timings only when its RunOptions ask for a trace.
  Scope root = Scope::NewRootScope();
  ops::Neg(root.WithOpName("n").WithDevice("/job:worker/task:1"),
           ops::Const(root.WithDevice("/job:ps/task:0"), 2.0f));
  const std::string handle = CreateSessionAtPs(root);
  ASSERT_FALSE(handle.empty());
  for (bool traced : {false, true}) {
    ::tensorflow::RunStepRequest run;
    run.set_session_handle(handle);
    run.add_fetch("n");
    if (traced) {
      run.mutable_options()->set_trace_level(
          ::tensorflow::RunOptions::FULL_TRACE);
    }
    ::tensorflow::RunStepResponse ran;
    grpc::ClientContext ctx;
    ASSERT_TRUE(master_->RunStep(&ctx, run, &ran).ok());
    EXPECT_EQ(ran.metadata().step_stats().dev_stats_size(), traced ? 2 : 0);
    for (const auto& dev : ran.metadata().step_stats().dev_stats()) {
      EXPECT_GT(dev.node_stats_size(), 0) << dev.device();
      for (const auto& n : dev.node_stats()) {
        // TensorFlow's timeline reads the op from the label.
        EXPECT_TRUE(absl::StartsWith(n.timeline_label(),
                                     absl::StrCat(n.node_name(), " = ")))
            << n.timeline_label();
      }
    }
  }
}

TEST_F(DistributedTest, CallablesRunByHandleUntilReleased) {
  // TensorFlow's Session::MakeCallable (Keras runs its graph functions
  // through it), through the master's API as TensorFlow's client calls it.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto scale = ops::Placeholder(root.WithOpName("scale"), DT_FLOAT);
  auto y =
      ops::Mul(root.WithOpName("y").WithDevice("/job:worker/task:1"), x, scale);
  ops::Neg(root.WithOpName("z").WithDevice("/job:worker/task:0"), y);
  const std::string handle = CreateSessionAtPs(root);
  ASSERT_FALSE(handle.empty());

  auto make = [&](std::vector<std::string> feeds,
                  std::vector<std::string> fetches, int64_t* out) {
    ::tensorflow::MakeCallableRequest req;
    req.set_session_handle(handle);
    for (auto& f : feeds) req.mutable_options()->add_feed(f);
    for (auto& f : fetches) req.mutable_options()->add_fetch(f);
    ::tensorflow::MakeCallableResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = master_->MakeCallable(&ctx, req, &resp);
    *out = resp.handle();
    return s;
  };
  auto run = [&](int64_t callable, std::vector<Tensor> feeds,
                 ::tensorflow::RunCallableResponse* resp) {
    ::tensorflow::RunCallableRequest req;
    req.set_session_handle(handle);
    req.set_handle(callable);
    for (const Tensor& t : feeds) TensorToProto(t, req.add_feed());
    grpc::ClientContext ctx;
    return master_->RunCallable(&ctx, req, resp);
  };
  int64_t callable = -1;
  ASSERT_TRUE(make({"x", "scale:0"}, {"z", "y:0"}, &callable).ok());
  for (float scale : {2.0f, -3.0f}) {
    ::tensorflow::RunCallableResponse resp;
    grpc::Status s = run(callable,
                         {Tensor::FromVector<float>({1, 2}, TensorShape({2})),
                          Tensor::Scalar(scale)},
                         &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.fetch_size(), 2);
    auto z = TensorFromProto(resp.fetch(0));
    auto yv = TensorFromProto(resp.fetch(1));
    ASSERT_TRUE(z.ok() && yv.ok());
    EXPECT_TRUE(
        z->Equals(Tensor::FromVector<float>({-scale, -2 * scale}, {2})));
    EXPECT_TRUE(yv->Equals(Tensor::FromVector<float>({scale, 2 * scale}, {2})));
  }

  // Wrong feed count, a bad name, an unknown handle: clear errors.
  ::tensorflow::RunCallableResponse resp;
  grpc::Status s = run(callable, {Tensor::Scalar(1.0f)}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("takes 2 feeds, not 1"), std::string::npos)
      << s.error_message();
  int64_t bad = -1;
  s = make({"x:zero"}, {"z"}, &bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  {
    ::tensorflow::MakeCallableRequest req;
    req.set_session_handle(handle);
    req.mutable_options()->add_fetch("z");
    req.mutable_options()->mutable_run_options()->set_timeout_in_ms(-1);
    ::tensorflow::MakeCallableResponse resp;
    grpc::ClientContext ctx;
    s = master_->MakeCallable(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("timeout_in_ms must be >= 0, not -1"),
              std::string::npos)
        << s.error_message();
  }
  ::tensorflow::ReleaseCallableRequest release;
  release.set_session_handle(handle);
  release.set_handle(callable);
  ::tensorflow::ReleaseCallableResponse released;
  grpc::ClientContext c1;
  ASSERT_TRUE(master_->ReleaseCallable(&c1, release, &released).ok());
  s = run(
      callable,
      {Tensor::FromVector<float>({1}, TensorShape({1})), Tensor::Scalar(1.0f)},
      &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("released, or never made"),
            std::string::npos)
      << s.error_message();
  grpc::ClientContext c2;
  EXPECT_EQ(master_->ReleaseCallable(&c2, release, &released).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
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

TEST_F(DistributedTest, StepsWhileATaskIsDownFailAndItIsFoundWhenBack) {
  auto session =
      GrpcSession::Create(cluster_->Target("worker", 0), PinnedGraph());
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor x = Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}));
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  cluster_->Stop("worker", 1);
  // Steps while worker 1 is down fail (the first marks the session's device
  // list stale; the next ones ask every task again, and may place nothing
  // on worker 1 while it does not answer).
  for (int i = 0; i < 3; ++i) {
    auto down = (*session)->Run({{"x", x}}, {"loss"}, {});
    ASSERT_FALSE(down.ok());
    EXPECT_TRUE(absl::IsUnavailable(down.status())) << down.status();
  }
  // Back: a step soon finds it again (the device list is asked for again
  // after a step that could not be placed, not kept without the task).
  ASSERT_TRUE(cluster_->Restart("worker", 1).ok());
  absl::StatusOr<std::vector<Tensor>> after;
  for (int i = 0; i < 50; ++i) {
    after = (*session)->Run({{"x", x}}, {"loss"}, {});
    if (after.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(DistributedTest, ATransferOfAStepThatEndedIsAbortedNotAwaited) {
  // The master ends a failed step everywhere at once; a RecvTensor (or
  // RunGraph) of it that reaches a task after its CleanupGraph must not
  // start the step again there and wait for a _Send that never runs.
  Worker* worker = cluster_->server("worker", 1)->worker();
  ::tensorflow::GetStatusResponse status;
  worker->GetStatus(&status);
  ASSERT_GT(status.device_attributes_size(), 0);
  const int64_t step_id = 424242;
  ASSERT_TRUE(worker->CleanupGraph(step_id).ok());
  ::tensorflow::RecvTensorRequest late;
  late.set_step_id(step_id);
  late.set_rendezvous_key(Rendezvous::CreateKey(
      status.device_attributes(0).name(),
      static_cast<int64_t>(status.device_attributes(0).incarnation()),
      "/job:worker/replica:0/task:0/device:CPU:0", "h:0"));
  Tensor ignored;
  bool dead = false;
  const auto start = std::chrono::steady_clock::now();
  absl::Status refused = worker->RecvTensor(late, 60000, &ignored, &dead);
  EXPECT_TRUE(absl::IsAborted(refused)) << refused;
  EXPECT_NE(refused.message().find("already ended"), std::string::npos)
      << refused;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(worker->num_steps(), 0u);
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

// Sends `bytes` as the request of `method` with a raw gRPC client, as a
// broken or hostile peer would.
grpc::Status RawCall(const std::string& target, const std::string& method,
                     const std::string& bytes) {
  auto channel =
      grpc::CreateChannel(HostPort(target), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer request(&slice, 1), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

constexpr const char* kMethods[] = {
    "/tensorflow.MasterService/CreateSession",
    "/tensorflow.MasterService/ExtendSession",
    "/tensorflow.MasterService/RunStep",
    "/tensorflow.MasterService/CloseSession",
    "/tensorflow.MasterService/ListDevices",
    "/tensorflow.MasterService/Reset",
    "/tensorflow.MasterService/MakeCallable",
    "/tensorflow.MasterService/RunCallable",
    "/tensorflow.MasterService/ReleaseCallable",
    "/tensorflow.WorkerService/GetStatus",
    "/tensorflow.WorkerService/CreateWorkerSession",
    "/tensorflow.WorkerService/DeleteWorkerSession",
    "/tensorflow.WorkerService/RegisterGraph",
    "/tensorflow.WorkerService/DeregisterGraph",
    "/tensorflow.WorkerService/RunGraph",
    "/tensorflow.WorkerService/CleanupGraph",
    "/tensorflow.WorkerService/CleanupAll",
    "/tensorflow.WorkerService/RecvTensor",
};

TEST_F(DistributedTest, SoftPlacementAsTheClientAsks) {
  // A GPU the cluster does not have.
  Scope root = Scope::NewRootScope();
  ops::Square(
      root.WithOpName("y").WithDevice("/job:worker/task:1/device:GPU:0"), 3.0f);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  GrpcSessionOptions hard;
  hard.allow_soft_placement = false;  // TensorFlow's clients' default.
  auto strict = GrpcSession::Create(cluster_->Target("ps", 0), def, hard);
  ASSERT_TRUE(strict.ok()) << strict.status();
  auto refused = (*strict)->Run({}, {"y"}, {});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument)
      << refused.status();
  EXPECT_NE(refused.status().message().find(
                "no device matches '/job:worker/task:1/device:GPU:0'"),
            std::string::npos)
      << refused.status();
  // Soft placement (the default of Rill's sessions) runs it on a device of
  // the same task.
  auto soft = GrpcSession::Create(cluster_->Target("ps", 0), def);
  ASSERT_TRUE(soft.ok()) << soft.status();
  auto out = (*soft)->Run({}, {"y"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].scalar<float>(), 9.0f);
}

TEST_F(DistributedTest, MalformedRequestsAreInvalidArgument) {
  // Field 1, length-delimited, claiming 16 bytes and giving 2: no message
  // parses from it.
  const std::string garbage = std::string("\x0a\x10") + "ab";
  for (const char* method : kMethods) {
    grpc::Status s = RawCall(cluster_->Target("ps", 0), method, garbage);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << method << ": " << s.error_message();
    EXPECT_NE(s.error_message().find("malformed tensorflow."),
              std::string::npos)
        << method << ": " << s.error_message();
  }
  // The server survived every one and still runs steps.
  auto session = GrpcSession::Create(cluster_->Target("ps", 0), PinnedGraph());
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->Run({}, {}, {"init"}).ok());
}

TEST(DistributedLimitsTest, OversizedMessagesAreResourceExhausted) {
  ServerOptions options;
  options.max_message_bytes = 64 << 10;
  auto cluster = TestCluster::Start({{"a", 1}, {"b", 1}}, options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string target = (*cluster)->Target("b", 0);

  // A raw request over the limit is refused before Rill sees it.
  grpc::Status raw = RawCall(target, "/tensorflow.MasterService/RunStep",
                             std::string(100 << 10, '\0'));
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << raw.error_message();

  // So is a feed over it, and a tensor sent between the tasks over it.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  ops::Identity(root.WithOpName("echo").WithDevice("/job:a/task:0"), x);
  auto n = ops::Placeholder(root.WithOpName("n"), DT_INT64);
  auto made = ops::Fill(root.WithDevice("/job:a/task:0"), n, 1.0f);
  ops::Sum(root.WithOpName("total").WithDevice("/job:b/task:0"), made, {0});
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = GrpcSession::Create(target, def);
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor big = Tensor::FromVector<float>(
      std::vector<float>(32 << 10, 1.0f), TensorShape({32 << 10}));
  auto fed = (*session)->Run({{"x", big}}, {"echo"}, {});
  EXPECT_EQ(fed.status().code(), absl::StatusCode::kResourceExhausted)
      << fed.status();
  auto sent = (*session)->Run(
      {{"n", Tensor::FromVector<int64_t>({32 << 10}, TensorShape({1}))}},
      {"total"}, {});
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kResourceExhausted)
      << sent.status();

  // Both servers survive and serve what fits.
  auto small = (*session)->Run(
      {{"n", Tensor::FromVector<int64_t>({1000}, TensorShape({1}))}}, {"total"},
      {});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ((*small)[0].scalar<float>(), 1000.0f);

  ServerOptions tiny;
  tiny.max_message_bytes = 100;
  auto refused = TestCluster::Start({{"a", 1}}, tiny);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument)
      << refused.status();
}

TEST_F(DistributedTest, AStepPastItsTimeoutEndsOnEveryTask) {
  // About 60 GFLOP on worker 1, summed on worker 0.
  Scope root = Scope::NewRootScope();
  Scope w1 = root.WithDevice("/job:worker/task:1");
  auto x = ops::Fill(w1,
                     ops::Const(w1, Tensor::FromVector<int64_t>(
                                        {1024, 1024}, TensorShape({2}))),
                     0.001f);
  Output y = x;
  for (int i = 0; i < 30; ++i) y = ops::MatMul(w1, y, x);
  ops::Sum(root.WithOpName("slow").WithDevice("/job:worker/task:0"), y, {0, 1});
  ops::Const(root.WithOpName("quick").WithDevice("/job:worker/task:1"), 7.0f);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = GrpcSession::Create(cluster_->Target("worker", 0), def);
  ASSERT_TRUE(session.ok()) << session.status();

  RunOptions options;
  options.timeout_in_ms = 200;
  const auto start = std::chrono::steady_clock::now();
  auto late = (*session)->Run(options, {}, {"slow"}, {});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded)
      << late.status();
  // Bounded: the timeout plus the matrix product that was running.
  EXPECT_LT(seconds, 10.0);
  auto quick = (*session)->Run({}, {"quick"}, {});
  ASSERT_TRUE(quick.ok()) << quick.status();
  EXPECT_EQ((*quick)[0].scalar<float>(), 7.0f);
}

// A step waiting on a queue (SyncReplicasOptimizer's token queue on the ps)
// ends when its client gives up on the call or closes the session, and
// leaves the queue's line: the next element goes to a live step.
TEST_F(DistributedTest, ClientCancellationAndCloseEndAWaitingStep) {
  Scope root = Scope::NewRootScope();
  Scope ps = root.WithDevice("/job:ps/task:0");
  auto q = ops::FIFOQueueV2(ps.WithOpName("q"), {DT_INT64},
                            ops::FIFOQueueV2::SharedName("tokens"));
  ops::QueueDequeueV2(ps.WithOpName("take"), q, {DT_INT64});
  ops::QueueEnqueueV2(ps.WithOpName("put"), q,
                      {ops::Const(ps, Tensor::Scalar<int64_t>(42))});
  const std::string handle = CreateSessionAtPs(root);
  ASSERT_FALSE(handle.empty());
  auto run = [&](const std::string& fetch, const std::string& target,
                 int deadline_ms, ::tensorflow::RunStepResponse* out) {
    ::tensorflow::RunStepRequest req;
    req.set_session_handle(handle);
    if (!fetch.empty()) req.add_fetch(fetch);
    if (!target.empty()) req.add_target(target);
    grpc::ClientContext ctx;
    if (deadline_ms > 0) {
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(deadline_ms));
    }
    return master_->RunStep(&ctx, req, out);
  };

  ::tensorflow::RunStepResponse ignored;
  grpc::Status gave_up = run("take:0", "", 200, &ignored);
  EXPECT_EQ(gave_up.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(run("", "put", 0, &ignored).ok());
  ::tensorflow::RunStepResponse got;
  grpc::Status taken = run("take:0", "", 5000, &got);
  ASSERT_TRUE(taken.ok()) << taken.error_message();
  ASSERT_EQ(got.tensor_size(), 1);
  auto value = TensorFromProto(got.tensor(0).tensor());
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->scalar<int64_t>(), 42);

  // The queue is empty again: this step waits until the session closes.
  grpc::Status waiting;
  std::thread waiter([&] {
    ::tensorflow::RunStepResponse r;
    waiting = run("take:0", "", 0, &r);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::tensorflow::CloseSessionRequest close;
  close.set_session_handle(handle);
  ::tensorflow::CloseSessionResponse closed;
  grpc::ClientContext ctx;
  ASSERT_TRUE(master_->CloseSession(&ctx, close, &closed).ok());
  waiter.join();
  EXPECT_EQ(waiting.error_code(), grpc::StatusCode::CANCELLED)
      << waiting.error_message();
  EXPECT_TRUE(absl::StrContains(waiting.error_message(), "session was closed"))
      << waiting.error_message();
}

// The receiving task asks for the tensor when the step starts and gets it
// only when the sender has computed it: a healthy step is not cut short
// however long that takes, unless the worker is given a limit.
TEST(DistributedStepsTest, AReceiverWaitsAsLongAsTheSenderComputes) {
  Scope root = Scope::NewRootScope();
  Scope w1 = root.WithDevice("/job:worker/task:1");
  Output m = ops::RandomUniform(w1, {1024, 1024}, DT_FLOAT,
                                ops::RandomUniform::Seed(1).Seed2(2));
  for (int i = 0; i < 4; ++i) m = ops::MatMul(w1, m, m);  // ~8.6 GFLOP.
  ops::Sum(root.WithOpName("total").WithDevice("/job:worker/task:0"), m,
           {0, 1});
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  constexpr int64_t kLimitMs = 20;
  for (const int64_t limit_ms : {int64_t{0}, kLimitMs}) {
    ServerOptions options;
    options.worker.recv_timeout_ms = limit_ms;
    auto cluster = TestCluster::Start({{"worker", 2}}, options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    auto session = GrpcSession::Create((*cluster)->Target("worker", 0), def);
    ASSERT_TRUE(session.ok()) << session.status();
    const auto start = std::chrono::steady_clock::now();
    auto out = (*session)->Run({}, {"total"}, {});
    const auto took = std::chrono::steady_clock::now() - start;
    if (limit_ms == 0) {
      EXPECT_TRUE(out.ok()) << out.status();
      // Longer than the limit that cuts the same step short below.
      EXPECT_GT(took, std::chrono::milliseconds(kLimitMs));
    } else {
      ASSERT_FALSE(out.ok());
      EXPECT_TRUE(absl::IsUnavailable(out.status())) << out.status();
      EXPECT_NE(out.status().message().find("/job:worker/replica:0/task:1"),
                std::string::npos)
          << out.status();
    }
  }
}

// With one thread for the master's calls and one for RegisterGraph, many
// clients at once still all finish: calls past the limit wait their turn,
// and a step's registrations never wait behind the master's calls.
TEST(DistributedLimitsTest, CallsPastTheThreadLimitWaitTheirTurn) {
  ServerOptions options;
  options.max_master_threads = 1;
  options.max_worker_threads = 1;
  auto cluster = TestCluster::Start({{"worker", 2}}, options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Scope root = Scope::NewRootScope();
  auto a =
      ops::Const(root.WithOpName("a").WithDevice("/job:worker/task:1"), 2.0f);
  ops::Mul(root.WithOpName("b").WithDevice("/job:worker/task:0"), a, a);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  std::vector<std::thread> clients;
  std::atomic<int> ok_steps = 0;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      // Half the clients use each task's master.
      auto session =
          GrpcSession::Create((*cluster)->Target("worker", c % 2), def);
      if (!session.ok()) return;
      for (int step = 0; step < 3; ++step) {
        auto out = (*session)->Run({}, {"b"}, {});
        if (out.ok() && (*out)[0].flat<float>()[0] == 4.0f) ++ok_steps;
      }
      (void)(*session)->Close();
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok_steps, 18);
}

TEST(DistributedStepsTest, AbandonedStepsAreAbortedAndForgotten) {
  ServerOptions options;
  options.worker.abandoned_step_ms = 200;
  auto cluster = TestCluster::Start({{"a", 1}}, options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Worker* worker = (*cluster)->server("a", 0)->worker();
  const Device* cpu = worker->devices()[0];
  struct Waiter {
    absl::Notification done;
    absl::Status status;
  };
  // A peer asks for tensors of steps that never run here.
  auto ask = [&](int64_t step_id) {
    auto waiter = std::make_shared<Waiter>();
    ::tensorflow::RecvTensorRequest request;
    request.set_step_id(step_id);
    request.set_rendezvous_key(
        Rendezvous::CreateKey(cpu->name(), cpu->incarnation(),
                              "/job:b/replica:0/task:0/device:CPU:0", "x:0"));
    worker->RecvTensorAsync(
        request, [waiter](const absl::Status& s, const Tensor&, bool) {
          waiter->status = s;
          waiter->done.Notify();
        });
    return waiter;
  };
  auto first = ask(77);
  EXPECT_EQ(worker->num_steps(), 1u);
  EXPECT_FALSE(
      first->done.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  // The next step made after that long sweeps the first away.
  auto second = ask(78);
  ASSERT_TRUE(first->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsAborted(first->status)) << first->status;
  EXPECT_NE(first->status.message().find("step 77 was abandoned"),
            std::string::npos)
      << first->status;
  EXPECT_EQ(worker->num_steps(), 1u);
  EXPECT_FALSE(second->done.HasBeenNotified());
  // CleanupGraph ends the other at once.
  ASSERT_TRUE(worker->CleanupGraph(78).ok());
  ASSERT_TRUE(second->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsAborted(second->status)) << second->status;
  EXPECT_EQ(worker->num_steps(), 0u);
}

}  // namespace
}  // namespace rill
