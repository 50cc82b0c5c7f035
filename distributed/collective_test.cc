// Collective ops on in-process clusters (real gRPC and Gloo on loopback):
// members as nodes of one graph on several tasks (one client), and as
// nodes of several graphs run by several clients at once (between-graph).
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "distributed/collective_client.h"
#include "distributed/grpc_session.h"
#include "distributed/test_cluster.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::string Task(int i) { return absl::StrCat("/job:worker/task:", i); }

std::unique_ptr<TestCluster> StartWorkers(int n) {
  ServerOptions options;
  options.collectives.default_timeout = absl::Seconds(20);
  options.collectives.order_window = absl::Seconds(1);
  auto cluster = TestCluster::Start({{"worker", n}}, options);
  EXPECT_TRUE(cluster.ok()) << cluster.status();
  return cluster.ok() ? *std::move(cluster) : nullptr;
}

// The member of task `i` reducing [i+1, 10(i+1)] (or `input`).
Output ReduceOn(const Scope& root, int i, int size, Input input,
                const std::string& merge = "Add",
                const std::string& final_op = "Id", int instance = 1,
                float timeout = 0) {
  Scope s = root.WithDevice(Task(i));
  return ops::CollectiveReduceV2(
      s.WithOpName(absl::StrCat("sum", i)), input, size, 1, instance, {}, merge,
      final_op, ops::CollectiveReduceV2::TimeoutSeconds(timeout));
}

TEST(CollectiveClusterTest, CoordinatorIsTheChiefElseWorkerZeroElseFirst) {
  using Task = std::pair<std::string, int>;
  auto task_of = [](const char* json) {
    auto cluster = ClusterSpec::FromJson(json);
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    return cluster.ok() ? CoordinatorTask(*cluster) : Task();
  };
  EXPECT_EQ(task_of(R"({"ps": ["h:1"], "worker": ["h:2", "h:3"],
                         "chief": ["h:4"]})"),
            Task("chief", 0));
  EXPECT_EQ(task_of(R"({"ps": ["h:1"], "worker": ["h:2", "h:3"]})"),
            Task("worker", 0));
  EXPECT_EQ(task_of(R"({"ps": {"3": "h:1", "1": "h:2"}, "trainer": ["h:3"]})"),
            Task("ps", 1));
}

TEST(CollectiveClusterTest, OneGraphOnThreeTasks) {
  auto cluster = StartWorkers(3);
  ASSERT_NE(cluster, nullptr);
  Scope root = Scope::NewRootScope();
  for (int i = 0; i < 3; ++i) {
    Scope s = root.WithDevice(Task(i));
    auto x = ops::Const(s, {1.f * (i + 1), 10.f * (i + 1)});
    ReduceOn(root, i, 3, x, "Add", "Div");
    ops::CollectiveGatherV2(s.WithOpName(absl::StrCat("gather", i)),
                            ops::Const(s, {i, i}), 3, 1, 2, {});
    if (i == 2) {
      ops::CollectiveBcastSendV2(s.WithOpName("bcast2"),
                                 ops::Const(s, {7.5, 8.5}), 3, 1, 3);
    } else {
      ops::CollectiveBcastRecvV2(s.WithOpName(absl::StrCat("bcast", i)), 3, 1,
                                 3, ops::Const(s, {2}), DT_DOUBLE);
    }
  }
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = GrpcSession::Create(cluster->Target("worker", 0), def);
  ASSERT_TRUE(session.ok()) << session.status();
  for (int step = 0; step < 3; ++step) {
    auto out = (*session)->Run({},
                               {"sum0", "sum1", "sum2", "gather0", "gather2",
                                "bcast0", "bcast1", "bcast2"},
                               {"gather1"});
    ASSERT_TRUE(out.ok()) << out.status();
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE((*out)[i].Equals(Tensor::FromVector<float>({2, 20})))
          << (*out)[i].DebugString();
    }
    for (int i = 3; i < 5; ++i) {
      EXPECT_TRUE(
          (*out)[i].Equals(Tensor::FromVector<int32_t>({0, 0, 1, 1, 2, 2})))
          << (*out)[i].DebugString();
    }
    for (int i = 5; i < 8; ++i) {
      EXPECT_TRUE((*out)[i].Equals(Tensor::FromVector<double>({7.5, 8.5})))
          << (*out)[i].DebugString();
    }
  }
}

// Four tasks, 64 MiB of floats each (the ring), and an odd-sized int64
// tensor (the small-message path) in the same step.
TEST(CollectiveClusterTest, FourTasksLargeAndOddSizes) {
  auto cluster = StartWorkers(4);
  ASSERT_NE(cluster, nullptr);
  constexpr int64_t kFloats = int64_t{16} << 20;  // 64 MiB.
  Scope root = Scope::NewRootScope();
  std::vector<std::string> fetches;
  for (int i = 0; i < 4; ++i) {
    Scope s = root.WithDevice(Task(i));
    auto big = ops::Fill(s, Tensor::FromVector<int64_t>({kFloats}),
                         static_cast<float>(i + 1));
    Output mean = ReduceOn(root, i, 4, big, "Add", "Div");
    ops::Min(s.WithOpName(absl::StrCat("min", i)), mean, {0});
    ops::Max(s.WithOpName(absl::StrCat("max", i)), mean, {0});
    auto odd = ops::Fill(s, Tensor::FromVector<int64_t>({1001}),
                         static_cast<int64_t>(i));
    ops::CollectiveReduceV2(s.WithOpName(absl::StrCat("odd", i)), odd, 4, 1, 2,
                            {}, "Max", "Id");
    for (const char* f : {"min", "max", "odd"}) {
      fetches.push_back(absl::StrCat(f, i));
    }
  }
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = GrpcSession::Create(cluster->Target("worker", 0), def);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run({}, fetches, {});
  ASSERT_TRUE(out.ok()) << out.status();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*out)[3 * i].flat<float>()[0], 2.5f) << "task " << i;
    EXPECT_EQ((*out)[3 * i + 1].flat<float>()[0], 2.5f) << "task " << i;
    const Tensor& odd = (*out)[3 * i + 2];
    ASSERT_EQ(odd.NumElements(), 1001);
    EXPECT_EQ(odd.flat<int64_t>()[0], 3);
    EXPECT_EQ(odd.flat<int64_t>()[1000], 3);
  }
}

// A task whose part of the step fails ends the step on the others, and
// their members stop waiting for it at once (the master's CleanupGraph
// cancels the step there), instead of after the collective's timeout.
TEST(CollectiveClusterTest, AFailingTaskStopsTheOthersWaitingMembers) {
  auto cluster = StartWorkers(2);
  ASSERT_NE(cluster, nullptr);
  Scope root = Scope::NewRootScope();
  ReduceOn(root, 0, 2, ops::Const(root.WithDevice(Task(0)), {1.0f, 2.0f}));
  Scope t1 = root.WithDevice(Task(1));
  auto x = ops::Placeholder(t1.WithOpName("x"), DT_FLOAT);
  ReduceOn(root, 1, 2, ops::Reshape(t1.WithOpName("bad"), x, {2}));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = GrpcSession::Create(cluster->Target("worker", 0), def);
  ASSERT_TRUE(session.ok()) << session.status();
  const absl::Time start = absl::Now();
  auto failed = (*session)->Run({{"x", Tensor::FromVector<float>({1, 2, 3})}},
                                {"sum0", "sum1"}, {});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument)
      << failed.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  auto ok = (*session)->Run({{"x", Tensor::FromVector<float>({3, 4})}},
                            {"sum0", "sum1"}, {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE((*ok)[1].Equals(Tensor::FromVector<float>({4, 6})))
      << (*ok)[1].DebugString();
}

// Each client builds and runs the graph of its own task only.
::tensorflow::GraphDef MemberGraph(int i, int size, Tensor input,
                                   float timeout = 0, int instance = 1) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root.WithDevice(Task(i)), input);
  ReduceOn(root, i, size, x, "Add", "Id", instance, timeout);
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  return def;
}

// Runs member i's graph on its own task through its own client.
std::vector<absl::StatusOr<std::vector<Tensor>>> RunBetweenGraph(
    TestCluster* cluster, const std::vector<::tensorflow::GraphDef>& graphs) {
  std::vector<std::future<absl::StatusOr<std::vector<Tensor>>>> futures;
  for (size_t i = 0; i < graphs.size(); ++i) {
    futures.push_back(std::async(
        std::launch::async, [&, i]() -> absl::StatusOr<std::vector<Tensor>> {
          auto session = GrpcSession::Create(
              cluster->Target("worker", static_cast<int>(i)), graphs[i]);
          if (!session.ok()) return session.status();
          return (*session)->Run({}, {absl::StrCat("sum", i)}, {});
        }));
  }
  std::vector<absl::StatusOr<std::vector<Tensor>>> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

TEST(CollectiveClusterTest, BetweenGraphClients) {
  auto cluster = StartWorkers(2);
  ASSERT_NE(cluster, nullptr);
  // Every dtype the reduction takes, through two clients at once.
  auto results = RunBetweenGraph(
      cluster.get(), {MemberGraph(0, 2, Tensor::FromVector<int64_t>({1, 2})),
                      MemberGraph(1, 2, Tensor::FromVector<int64_t>({3, 4}))});
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE((*r)[0].Equals(Tensor::FromVector<int64_t>({4, 6})));
  }
}

TEST(CollectiveClusterTest, MismatchedShapesFailOnEveryClient) {
  auto cluster = StartWorkers(2);
  ASSERT_NE(cluster, nullptr);
  const absl::Time start = absl::Now();
  auto results = RunBetweenGraph(
      cluster.get(), {MemberGraph(0, 2, Tensor::FromVector<float>({1, 2})),
                      MemberGraph(1, 2, Tensor::FromVector<float>({1, 2, 3}))});
  for (auto& r : results) {
    ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "instance 1"))
        << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "[3]")) << r.status();
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(CollectiveClusterTest, MismatchedGroupSizeFailsOnEveryClient) {
  auto cluster = StartWorkers(2);
  ASSERT_NE(cluster, nullptr);
  auto results = RunBetweenGraph(
      cluster.get(), {MemberGraph(0, 2, Tensor::FromVector<float>({1})),
                      MemberGraph(1, 3, Tensor::FromVector<float>({1}))});
  for (auto& r : results) {
    ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "group_size"))
        << r.status();
  }
}

TEST(CollectiveClusterTest, AStoppedMemberFailsTheOthersWithUnavailable) {
  auto cluster = StartWorkers(2);
  ASSERT_NE(cluster, nullptr);
  auto ok = RunBetweenGraph(
      cluster.get(), {MemberGraph(0, 2, Tensor::FromVector<float>({1})),
                      MemberGraph(1, 2, Tensor::FromVector<float>({1}))});
  for (auto& r : ok) ASSERT_TRUE(r.ok()) << r.status();
  cluster->Stop("worker", 1);
  auto session = GrpcSession::Create(
      cluster->Target("worker", 0),
      MemberGraph(0, 2, Tensor::FromVector<float>({1}), /*timeout=*/5, 2));
  ASSERT_TRUE(session.ok()) << session.status();
  const absl::Time start = absl::Now();
  auto r = (*session)->Run({}, {"sum0"}, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  // It names the member that went away.
  EXPECT_TRUE(absl::StrContains(
      r.status().message(),
      "rank 1 (/job:worker/replica:0/task:1/device:CPU:0) was lost"))
      << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // The next collective finds the group short of a member: it ends by its
  // timeout, naming who joined.
  r = (*session)->Run({}, {"sum0"}, {});
  EXPECT_FALSE(r.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

}  // namespace
}  // namespace rill
