// GrpcWorkerCache's two kinds of WorkerInterface on a real two-task
// cluster: the collective coordinator's methods reach the same coordinator
// in-process and over gRPC, and a RecvTensor to another task can be
// cancelled by its caller and is bounded by its timeout.
#include "distributed/worker_cache.h"

#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/framework/rendezvous.h"
#include "distributed/test_cluster.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

constexpr char kTask0[] = "/job:worker/replica:0/task:0";
constexpr char kTask1[] = "/job:worker/replica:0/task:1";

class WorkerCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = TestCluster::Start({{"worker", 2}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }
  WorkerInterface* Worker(int from, const char* task) {
    auto w = cluster_->server("worker", from)->workers()->GetWorker(task);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *w : nullptr;
  }
  // A key for a tensor task 1's CPU sends to task 0 (never sent here).
  std::string KeyFromTask1() {
    ::tensorflow::GetStatusResponse status;
    EXPECT_TRUE(Worker(0, kTask1)->GetStatus({}, &status).ok());
    EXPECT_GT(status.device_attributes_size(), 0);
    return Rendezvous::CreateKey(absl::StrCat(kTask1, "/device:CPU:0"),
                                 status.device_attributes(0).incarnation(),
                                 absl::StrCat(kTask0, "/device:CPU:0"),
                                 "never_sent:0");
  }
  // Starts a RecvTensor from task 0 to task 1 and waits for its end.
  absl::Status Recv(const std::string& key, const WorkerCallOptions& options,
                    const std::function<void()>& meanwhile = {}) {
    ::tensorflow::RecvTensorRequest request;
    request.set_step_id(7);
    request.set_rendezvous_key(key);
    RecvTensorReply reply;
    absl::Notification done;
    absl::Status status;
    Worker(0, kTask1)->RecvTensorAsync(request, &reply, options,
                                       [&](absl::Status s) {
                                         status = std::move(s);
                                         done.Notify();
                                       });
    if (meanwhile) meanwhile();
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return status;
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(WorkerCacheTest, OwnTaskIsInProcessOthersOverGrpc) {
  EXPECT_NE(dynamic_cast<LocalWorker*>(Worker(0, kTask0)), nullptr);
  EXPECT_NE(dynamic_cast<GrpcRemoteWorker*>(Worker(0, kTask1)), nullptr);
  auto missing = cluster_->server("worker", 0)
                     ->workers()
                     ->GetWorker("/job:worker/replica:0/task:9");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

TEST_F(WorkerCacheTest, CollectiveMethodsReachOneCoordinator) {
  // Task 0 coordinates (no chief): task 1 sets a key over gRPC, task 0
  // reads it in-process; task 1's own coordinator does not have it.
  StoreSetRequest set;
  set.set_key("g1/1/rank0");
  set.set_value("127.0.0.1:4000");
  StoreSetResponse set_response;
  ASSERT_TRUE(Worker(1, kTask0)->StoreSet(set, &set_response).ok());
  StoreGetRequest get;
  get.set_key("g1/1/rank0");
  StoreGetResponse got;
  ASSERT_TRUE(Worker(0, kTask0)->StoreGet(get, &got).ok());
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), "127.0.0.1:4000");
  ASSERT_TRUE(Worker(1, kTask1)->StoreGet(get, &got).ok());
  EXPECT_FALSE(got.found());

  // Members disagreeing on the group size: the coordinator's own error,
  // whichever way it is reached.
  JoinGroupRequest join;
  join.set_group_key(5);
  join.set_group_size(2);
  join.set_device(absl::StrCat(kTask1, "/device:CPU:0"));
  join.set_min_generation(1);
  JoinGroupResponse joined;
  ASSERT_TRUE(Worker(1, kTask0)->JoinGroup(join, &joined).ok());
  EXPECT_FALSE(joined.complete());
  join.set_group_size(3);
  join.set_device(absl::StrCat(kTask0, "/device:CPU:0"));
  absl::Status local = Worker(0, kTask0)->JoinGroup(join, &joined);
  EXPECT_TRUE(absl::IsFailedPrecondition(local)) << local;
  join.set_device(absl::StrCat(kTask1, "/device:CPU:1"));
  absl::Status remote = Worker(1, kTask0)->JoinGroup(join, &joined);
  EXPECT_TRUE(absl::IsFailedPrecondition(remote)) << remote;
  EXPECT_NE(remote.message().find("group"), std::string::npos) << remote;
}

TEST_F(WorkerCacheTest, RemoteRecvTensorIsCancelledByItsCaller) {
  CallCanceller canceller;
  const absl::Time start = absl::Now();
  absl::Status s = Recv(KeyFromTask1(), {.canceller = &canceller}, [&] {
    absl::SleepFor(absl::Milliseconds(200));
    canceller.Cancel();
  });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  // Cancelled before it starts: ends at once.
  CallCanceller early;
  early.Cancel();
  s = Recv(KeyFromTask1(), {.canceller = &early});
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

TEST_F(WorkerCacheTest, RemoteRecvTensorIsBoundedByItsTimeout) {
  absl::Status s = Recv(KeyFromTask1(), {.timeout_ms = 300});
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_NE(s.message().find(kTask1), std::string::npos) << s;
}

TEST_F(WorkerCacheTest, RemoteRecvTensorOfAStaleIncarnationIsAborted) {
  absl::Status s =
      Recv(Rendezvous::CreateKey(absl::StrCat(kTask1, "/device:CPU:0"), 12345,
                                 absl::StrCat(kTask0, "/device:CPU:0"), "h:0"),
           {.timeout_ms = 5000});
  EXPECT_TRUE(absl::IsAborted(s)) << s;
}

}  // namespace
}  // namespace rill
