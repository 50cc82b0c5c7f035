// The master against fake workers (WorkerInterface): what it asks of each
// task when a step runs, fails, or a session ends, with no server, no
// transport and no kernels running.
#include "distributed/master.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/cc/ops.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::string Task(int i) {
  return absl::StrCat("/job:worker/replica:0/task:", i);
}

// Records every call; answers as told, on the caller's thread (as the
// in-process worker does), never holding its lock while `done` runs: the
// master may call again from inside `done`.
class FakeWorker : public WorkerInterface {
 public:
  explicit FakeWorker(std::string task) : task_(std::move(task)) {}

  void GetStatusAsync(const ::tensorflow::GetStatusRequest&,
                      ::tensorflow::GetStatusResponse* response,
                      const WorkerCallOptions&, Done done) override {
    absl::Status s;
    {
      absl::MutexLock lock(&mu_);
      ++get_status_calls;
      s = status_error;
    }
    if (s.ok()) {
      auto* d = response->add_device_attributes();
      d->set_name(task_ + "/device:CPU:0");
      d->set_device_type("CPU");
      d->set_incarnation(42);
    }
    done(s);
  }
  void RegisterGraphAsync(const ::tensorflow::RegisterGraphRequest& request,
                          ::tensorflow::RegisterGraphResponse* response,
                          const WorkerCallOptions&, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      registered.push_back(request.graph_def());
      response->set_graph_handle(absl::StrCat("g", registered.size()));
    }
    done(absl::OkStatus());
  }
  void DeregisterGraphAsync(const ::tensorflow::DeregisterGraphRequest& request,
                            ::tensorflow::DeregisterGraphResponse*,
                            const WorkerCallOptions&, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      deregistered.insert(request.graph_handle());
    }
    done(absl::OkStatus());
  }
  // Answers every fetch key with `value`, or fails with run_error.
  void RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                     ::tensorflow::RunGraphResponse* response,
                     const WorkerCallOptions&, Done done) override {
    absl::Status s;
    {
      absl::MutexLock lock(&mu_);
      steps_run.push_back(request.step_id());
      s = run_error;
    }
    if (s.ok()) {
      for (const std::string& key : request.recv_key()) {
        auto* recv = response->add_recv();
        recv->set_name(key);
        TensorToProto(Tensor::Scalar<float>(value), recv->mutable_tensor());
      }
    }
    done(s);
  }
  void CleanupGraphAsync(const ::tensorflow::CleanupGraphRequest& request,
                         ::tensorflow::CleanupGraphResponse*,
                         const WorkerCallOptions&, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      steps_ended.push_back(request.step_id());
    }
    done(absl::OkStatus());
  }
  void CleanupAllAsync(const ::tensorflow::CleanupAllRequest& request,
                       ::tensorflow::CleanupAllResponse*,
                       const WorkerCallOptions&, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      cleaned_containers.emplace_back(request.container().begin(),
                                      request.container().end());
    }
    done(absl::OkStatus());
  }
  // Workers call these of each other; the master never does.
  void RecvTensorAsync(const ::tensorflow::RecvTensorRequest&, RecvTensorReply*,
                       const WorkerCallOptions&, Done done) override {
    Unexpected("RecvTensor", std::move(done));
  }
  void JoinGroupAsync(const JoinGroupRequest&, JoinGroupResponse*,
                      const WorkerCallOptions&, Done done) override {
    Unexpected("JoinGroup", std::move(done));
  }
  void StoreSetAsync(const StoreSetRequest&, StoreSetResponse*,
                     const WorkerCallOptions&, Done done) override {
    Unexpected("StoreSet", std::move(done));
  }
  void StoreGetAsync(const StoreGetRequest&, StoreGetResponse*,
                     const WorkerCallOptions&, Done done) override {
    Unexpected("StoreGet", std::move(done));
  }

  absl::Status status_error, run_error;
  float value = 7;
  int get_status_calls = 0;
  std::vector<::tensorflow::GraphDef> registered;
  std::set<std::string> deregistered;
  std::vector<int64_t> steps_run, steps_ended;
  std::vector<std::vector<std::string>> cleaned_containers;

 private:
  void Unexpected(const char* method, Done done) {
    ADD_FAILURE() << "the master called " << method << " on " << task_;
    done(absl::UnimplementedError(method));
  }

  const std::string task_;
  absl::Mutex mu_;
};

class FakeCache : public WorkerCacheInterface {
 public:
  explicit FakeCache(int tasks) {
    for (int i = 0; i < tasks; ++i) {
      workers_[Task(i)] = std::make_unique<FakeWorker>(Task(i));
    }
  }
  std::vector<std::string> Tasks() const override {
    std::vector<std::string> out;
    for (const auto& [task, w] : workers_) out.push_back(task);
    return out;
  }
  absl::StatusOr<WorkerInterface*> GetWorker(const std::string& task) override {
    auto it = workers_.find(task);
    if (it == workers_.end()) {
      return absl::NotFoundError(absl::StrCat("no task ", task));
    }
    return it->second.get();
  }
  FakeWorker& at(int i) { return *workers_.at(Task(i)); }

 private:
  std::map<std::string, std::unique_ptr<FakeWorker>> workers_;
};

// a (task 1) -> b = a + 1 (task 0); fetch b.
::tensorflow::GraphDef TwoTaskGraph() {
  Scope root = Scope::NewRootScope();
  auto a =
      ops::Const(root.WithOpName("a").WithDevice("/job:worker/task:1"), 1.0f);
  ops::Add(root.WithOpName("b").WithDevice("/job:worker/task:0"), a, 1.0f);
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  return def;
}

class MasterTest : public ::testing::Test {
 protected:
  MasterTest() : cache_(2), master_(Task(0), &cache_) {}

  std::string CreateSession() {
    ::tensorflow::CreateSessionRequest request;
    *request.mutable_graph_def() = TwoTaskGraph();
    ::tensorflow::CreateSessionResponse response;
    absl::Status s = master_.CreateSession(request, &response);
    EXPECT_TRUE(s.ok()) << s;
    return response.session_handle();
  }
  absl::StatusOr<float> FetchB(const std::string& handle) {
    ::tensorflow::RunStepRequest request;
    request.set_session_handle(handle);
    request.add_fetch("b");
    ::tensorflow::RunStepResponse response;
    RETURN_IF_ERROR(master_.RunStep(request, &response));
    ASSIGN_OR_RETURN(Tensor t, TensorFromProto(response.tensor(0).tensor()));
    return t.flat<float>()[0];
  }

  FakeCache cache_;
  Master master_;
};

TEST_F(MasterTest, AStepRunsOnEveryTaskAndEndsEverywhere) {
  const std::string handle = CreateSession();
  for (int step = 0; step < 2; ++step) {
    absl::StatusOr<float> b = FetchB(handle);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(*b, 7);
  }
  for (int i = 0; i < 2; ++i) {
    FakeWorker& w = cache_.at(i);
    // One partition per task, registered once for both steps.
    EXPECT_EQ(w.registered.size(), 1u) << "task " << i;
    ASSERT_EQ(w.steps_run.size(), 2u) << "task " << i;
    // Each step ended on each task, with the step's id.
    EXPECT_EQ(w.steps_ended, w.steps_run) << "task " << i;
  }
  EXPECT_EQ(cache_.at(0).steps_run, cache_.at(1).steps_run);
  EXPECT_NE(cache_.at(0).steps_run[0], cache_.at(0).steps_run[1]);
  // The value crosses from task 1 to task 0 in a _Send/_Recv pair.
  bool sends = false;
  for (const auto& node : cache_.at(1).registered[0].node()) {
    sends |= node.op() == "_Send";
  }
  EXPECT_TRUE(sends);
}

TEST_F(MasterTest, AFailingTaskEndsTheStepOnEveryTask) {
  const std::string handle = CreateSession();
  cache_.at(1).run_error = absl::UnavailableError("task 1 went away");
  absl::StatusOr<float> b = FetchB(handle);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(b.status().message(), "task 1 went away"))
      << b.status();
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(cache_.at(i).steps_run.size(), 1u);
    EXPECT_FALSE(cache_.at(i).steps_ended.empty()) << "task " << i;
    EXPECT_EQ(cache_.at(i).steps_ended[0], cache_.at(i).steps_run[0]);
  }
  // An UNAVAILABLE task may have restarted: the next step looks again.
  const int asked = cache_.at(1).get_status_calls;
  cache_.at(1).run_error = absl::OkStatus();
  ASSERT_TRUE(FetchB(handle).ok());
  EXPECT_EQ(cache_.at(1).get_status_calls, asked + 1);
  EXPECT_EQ(cache_.at(1).registered.size(), 2u);
}

TEST_F(MasterTest, ATaskDownAtCreateSessionFailsOnlyStepsThatNeedIt) {
  cache_.at(1).status_error = absl::UnavailableError("task 1 is not up");
  const std::string handle = CreateSession();
  absl::StatusOr<float> b = FetchB(handle);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(b.status().message(), "task 1 is not up"))
      << b.status();
  EXPECT_TRUE(cache_.at(0).steps_run.empty());
}

TEST_F(MasterTest, CloseDeregistersAndResetCleansEveryTask) {
  const std::string handle = CreateSession();
  ASSERT_TRUE(FetchB(handle).ok());
  ::tensorflow::CloseSessionRequest close;
  close.set_session_handle(handle);
  ASSERT_TRUE(master_.CloseSession(close).ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(cache_.at(i).deregistered, std::set<std::string>{"g1"})
        << "task " << i;
  }
  EXPECT_EQ(FetchB(handle).status().code(), absl::StatusCode::kNotFound);

  // Reset clears the containers on every task and leaves other clients'
  // sessions open.
  const std::string other = CreateSession();
  ::tensorflow::ResetRequest reset;
  reset.add_container("c");
  ASSERT_TRUE(master_.Reset(reset).ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(cache_.at(i).cleaned_containers.size(), 1u);
    EXPECT_EQ(cache_.at(i).cleaned_containers[0],
              std::vector<std::string>{"c"});
  }
  EXPECT_TRUE(FetchB(other).ok());
  EXPECT_EQ(master_.num_sessions(), 1);
}

TEST_F(MasterTest, HandlesAreUnguessable) {
  const std::string a = CreateSession(), b = CreateSession();
  EXPECT_NE(a, b);
  // "session_" and 128 random bits in hex.
  EXPECT_GE(a.size(), 8u + 16u);
  ::tensorflow::CloseSessionRequest close;
  close.set_session_handle("session_0");
  EXPECT_EQ(master_.CloseSession(close).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(master_.num_sessions(), 2);
}

TEST(MasterLimitsTest, SessionsPastTheLimitAreRefusedAndIdleOnesClosed) {
  FakeCache cache(2);
  Master master(Task(0), &cache, {.max_sessions = 2, .session_gc_seconds = 1});
  auto create = [&] {
    ::tensorflow::CreateSessionRequest request;
    *request.mutable_graph_def() = TwoTaskGraph();
    ::tensorflow::CreateSessionResponse response;
    absl::Status s = master.CreateSession(request, &response);
    return s.ok() ? absl::StatusOr<std::string>(response.session_handle())
                  : absl::StatusOr<std::string>(s);
  };
  absl::StatusOr<std::string> a = create(), b = create();
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::string> c = create();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("--max_sessions"), std::string::npos)
      << c.status();
  // Both go idle; `b` is used again before the limit passes.
  absl::SleepFor(absl::Milliseconds(700));
  ::tensorflow::RunStepRequest run;
  run.set_session_handle(*b);
  run.add_fetch("b");
  ::tensorflow::RunStepResponse response;
  ASSERT_TRUE(master.RunStep(run, &response).ok());
  absl::SleepFor(absl::Milliseconds(700));
  // `a` has been idle 1.4 s: closed, its place free.
  ASSERT_TRUE(create().ok());
  EXPECT_EQ(master.num_sessions(), 2);
  run.set_session_handle(*a);
  absl::Status gone = master.RunStep(run, &response);
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(gone.message().find("--session_gc_seconds"), std::string::npos)
      << gone;
}

}  // namespace
}  // namespace rill
