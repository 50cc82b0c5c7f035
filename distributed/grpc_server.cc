#include "distributed/grpc_server.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/platform/status_macros.h"
#include "distributed/collective_client.h"
#include "distributed/grpc_util.h"
#include "distributed/protos/master.pb.h"
#include "distributed/protos/worker.pb.h"
#include "distributed/tensor_coding.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"

namespace rill {

namespace {

namespace tf = ::tensorflow;

class AsyncCall;

// One call of either service, answered exactly once (the first Reply wins;
// later ones, say a tensor arriving after the receiver gave up, do
// nothing). Shared by the call's queue state and whatever answers it.
class Call {
 public:
  explicit Call(AsyncCall* owner) : owner_(owner) {}

  // `fill` writes the response while the call is still open.
  void Reply(const absl::Status& status,
             const std::function<void(grpc::ByteBuffer*)>& fill = nullptr);
  void Reply(const absl::Status& status,
             const google::protobuf::MessageLite& message) {
    Reply(status, [&message](grpc::ByteBuffer* out) {
      bool own = false;
      (void)grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(
          message, out, &own);
    });
  }

  // Runs `hook` when the caller cancels the call or its deadline passes
  // (at once if that already happened).
  void OnCancel(std::function<void()> hook) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (!cancelled_) {
        cancel_hook_ = std::move(hook);
        return;
      }
    }
    hook();
  }
  void Cancelled() {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      hook = std::move(cancel_hook_);
    }
    if (hook != nullptr) hook();
  }

 private:
  absl::Mutex mu_;
  // Valid until the first Reply has finished the call.
  AsyncCall* const owner_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> cancel_hook_ ABSL_GUARDED_BY(mu_);
};

// The request of a call, parsed by Rill rather than by gRPC, so a
// malformed one is INVALID_ARGUMENT naming the message.
template <typename Message>
absl::Status Parse(const grpc::ByteBuffer* request, Message* out) {
  grpc::ByteBuffer copy(*request);  // Shares the slices.
  if (!grpc::SerializationTraits<Message>::Deserialize(&copy, out).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", Message::descriptor()->full_name(), " (",
                     request->Length(), " bytes)"));
  }
  return absl::OkStatus();
}

// Puts a failed step's status in the response (for a caller that asked
// store_errors_in_response_body) instead of failing the call.
template <typename Response>
absl::Status StoreError(absl::Status s, bool in_body, Response* response) {
  if (s.ok() || !in_body) return s;
  response->set_status_code(static_cast<int>(s.code()));
  response->set_status_error_message(std::string(s.message()));
  return absl::OkStatus();
}

}  // namespace

// Threads for the calls that block (the master's, RegisterGraph): one per
// call in flight, so calls that wait on each other across tasks never wait
// for a free thread; idle threads are kept for the next calls.
// Threads for calls that may block: made as calls arrive, up to
// max_threads, kept idle for the next ones; beyond the limit calls wait in
// a queue. A server has two: the master's (RunStep waits on the workers of
// every task) and the worker's (RegisterGraph, which never waits on another
// task), so a full master pool on every task can never hold up the
// registrations its steps wait for.
class RillServer::CallPool {
 public:
  explicit CallPool(int max_threads) : max_threads_(std::max(1, max_threads)) {}
  ~CallPool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (auto& t : threads_) t.join();
  }

  void Schedule(std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
    if (idle_ < static_cast<int>(queue_.size()) &&
        static_cast<int>(threads_.size()) < max_threads_) {
      threads_.emplace_back([this] { Loop(); });
    }
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (true) {
      ++idle_;
      mu_.Await(absl::Condition(
          +[](CallPool* p) { return p->stopping_ || !p->queue_.empty(); },
          this));
      --idle_;
      if (queue_.empty()) return;  // Stopping.
      std::function<void()> fn = std::move(queue_.front());
      queue_.pop_front();
      mu_.Unlock();
      fn();
      fn = nullptr;
      mu_.Lock();
    }
  }

  const int max_threads_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

using Handler =
    std::function<void(const grpc::ByteBuffer&, std::shared_ptr<Call>)>;

// Every method by its full name ("/tensorflow.WorkerService/RunGraph"), and
// the calls still to be answered (Stop waits for them before it shuts the
// completion queue).
class RillServer::Dispatcher {
 public:
  absl::flat_hash_map<std::string, Handler> handlers;
  // Every call must carry it (empty: none is asked for).
  std::string auth_token;

  void Dispatch(const std::string& method, const grpc::ByteBuffer& request,
                std::shared_ptr<Call> call) const {
    auto it = handlers.find(method);
    if (it == handlers.end()) {
      call->Reply(absl::UnimplementedError(
          absl::StrCat("method ", method, " is not served by Rill")));
      return;
    }
    it->second(request, std::move(call));
  }
  void CallBegun() {
    absl::MutexLock lock(&mu_);
    ++open_;
  }
  void CallEnded() {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  void WaitForCalls() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &open_));
  }

 private:
  absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace {

// A call's life on the server's completion queue: matched (any method, as
// raw bytes), its one request read, dispatched, finished by its Reply; a
// separate event says when it is over (and whether it was cancelled). Each
// event holds a reference; the last one deletes the call.
class AsyncCall {
 public:
  // An event on the queue: the call and what completed.
  class Event : public QueueTag {
   public:
    Event(AsyncCall* call, void (AsyncCall::*handle)(bool ok))
        : call_(call), handle_(handle) {}
    void Run(bool ok) override { (call_->*handle_)(ok); }

   private:
    AsyncCall* const call_;
    void (AsyncCall::*const handle_)(bool ok);
  };

  // Waits for the next call of any method.
  static void Await(RillServer::Dispatcher* dispatcher,
                    grpc::AsyncGenericService* service,
                    grpc::ServerCompletionQueue* cq) {
    auto* call = new AsyncCall(dispatcher, service, cq);
    call->ctx_.AsyncNotifyWhenDone(&call->done_);
    service->RequestCall(&call->ctx_, &call->stream_, cq, cq, &call->new_);
  }

  // From Call::Reply, once.
  void Finish(const absl::Status& status) {
    if (status.ok()) {
      if (!response_.Valid()) {  // No Reply wrote a message.
        grpc::Slice empty;
        response_ = grpc::ByteBuffer(&empty, 1);
      }
      stream_.WriteAndFinish(response_, grpc::WriteOptions(), grpc::Status::OK,
                             &finished_);
    } else {
      stream_.Finish(ToGrpc(status), &finished_);
    }
  }
  grpc::ByteBuffer* response() { return &response_; }

 private:
  AsyncCall(RillServer::Dispatcher* dispatcher,
            grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq)
      : dispatcher_(dispatcher), service_(service), cq_(cq) {}

  void OnNew(bool ok) {
    if (!ok) {  // The server is shutting down; the call never began.
      delete this;
      return;
    }
    Await(dispatcher_, service_, cq_);
    refs_.fetch_add(1);  // The read.
    stream_.Read(&request_, &read_);
    Unref();
  }
  void OnRead(bool ok) {
    // Answered by its Reply, whose finish releases this reference.
    refs_.fetch_add(1);
    dispatcher_->CallBegun();
    auto call = std::make_shared<Call>(this);
    bool over;  // Cancelled before it was read (the end came first).
    {
      absl::MutexLock lock(&mu_);
      call_ = call;
      over = over_;
    }
    if (!CarriesToken(ctx_.client_metadata(), dispatcher_->auth_token)) {
      call->Reply(absl::UnauthenticatedError(
          "the call carries no valid auth token: this server was started "
          "with --auth_token_file, and so must its clients be"));
    } else if (!ok) {
      call->Reply(
          absl::InvalidArgumentError("the call carried no request message"));
    } else {
      dispatcher_->Dispatch(ctx_.method(), request_, call);
    }
    if (over && ctx_.IsCancelled()) call->Cancelled();
    Unref();
  }
  void OnFinished(bool) {
    dispatcher_->CallEnded();
    Unref();
  }
  void OnDone(bool) {
    std::shared_ptr<Call> call;
    {
      absl::MutexLock lock(&mu_);
      over_ = true;
      call = call_;
    }
    if (call != nullptr && ctx_.IsCancelled()) call->Cancelled();
    Unref();
  }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  RillServer::Dispatcher* const dispatcher_;
  grpc::AsyncGenericService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::GenericServerContext ctx_;
  grpc::GenericServerAsyncReaderWriter stream_{&ctx_};
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Mutex mu_;
  std::shared_ptr<Call> call_ ABSL_GUARDED_BY(mu_);
  bool over_ ABSL_GUARDED_BY(mu_) = false;  // The end event came.
  // The match and the end of the call (which comes only for a matched
  // call, possibly before the match is handled).
  std::atomic<int> refs_{2};
  Event new_{this, &AsyncCall::OnNew};
  Event read_{this, &AsyncCall::OnRead};
  Event finished_{this, &AsyncCall::OnFinished};
  Event done_{this, &AsyncCall::OnDone};
};

void Call::Reply(const absl::Status& status,
                 const std::function<void(grpc::ByteBuffer*)>& fill) {
  std::function<void()> hook;  // Destroyed outside the lock.
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    hook = std::move(cancel_hook_);
    if (status.ok() && fill != nullptr) fill(owner_->response());
  }
  owner_->Finish(status);
}

// A method whose work is quick: parsed, run and answered on the queue's
// thread.
template <typename Request, typename Response>
Handler Serve(std::function<absl::Status(const Request&, Response*)> fn) {
  return [fn = std::move(fn)](const grpc::ByteBuffer& request,
                              std::shared_ptr<Call> call) {
    Request parsed;
    Response out;
    absl::Status s = Parse(&request, &parsed);
    if (s.ok()) s = fn(parsed, &out);
    call->Reply(s, out);
  };
}

// A method whose work blocks, and may be cancelled by its client: parsed
// on the queue's thread, run and answered on the pool; the method gets the
// call's cancellation (the client's, or its deadline's) so that a
// cancelled call ends its step. What the method leaves in `after_reply`
// runs once the answer is on its way (work the caller need not wait for).
template <typename Request, typename Response>
Handler ServeStepOnPool(
    RillServer::CallPool* pool,
    std::function<absl::Status(const Request&, Response*,
                               std::function<void()>*, const OnClientCancel&)>
        fn) {
  return [pool, fn = std::move(fn)](const grpc::ByteBuffer& request,
                                    std::shared_ptr<Call> call) {
    auto parsed = std::make_shared<Request>();
    absl::Status s = Parse(&request, parsed.get());
    if (!s.ok()) {
      call->Reply(s);
      return;
    }
    pool->Schedule([call = std::move(call), parsed, fn] {
      Response out;
      std::function<void()> after_reply;
      Call* c = call.get();
      absl::Status s =
          fn(*parsed, &out, &after_reply,
             [c](std::function<void()> hook) { c->OnCancel(std::move(hook)); });
      call->Reply(s, out);
      if (after_reply != nullptr) after_reply();
    });
  };
}

// A method whose work blocks: parsed on the queue's thread, run and
// answered on the pool. What the method leaves in `after_reply` runs once
// the answer is on its way (work the caller need not wait for).
template <typename Request, typename Response>
Handler ServeOnPool(RillServer::CallPool* pool,
                    std::function<absl::Status(const Request&, Response*,
                                               std::function<void()>*)>
                        fn) {
  return ServeStepOnPool<Request, Response>(
      pool, [fn = std::move(fn)](const Request& request, Response* response,
                                 std::function<void()>* after_reply,
                                 const OnClientCancel&) {
        return fn(request, response, after_reply);
      });
}

constexpr char kMaster[] = "/tensorflow.MasterService/";
constexpr char kWorker[] = "/tensorflow.WorkerService/";

// The MasterService's methods: each waits on other tasks, so on the pool.
void AddMasterMethods(Master* master, RillServer::CallPool* pool,
                      absl::flat_hash_map<std::string, Handler>* out) {
  auto& h = *out;
  h[absl::StrCat(kMaster, "CreateSession")] =
      ServeOnPool<tf::CreateSessionRequest, tf::CreateSessionResponse>(
          pool, [master](const auto& req, auto* resp, auto*) {
            return master->CreateSession(req, resp);
          });
  h[absl::StrCat(kMaster, "ExtendSession")] =
      ServeOnPool<tf::ExtendSessionRequest, tf::ExtendSessionResponse>(
          pool, [master](const auto& req, auto* resp, auto*) {
            return master->ExtendSession(req, resp);
          });
  h[absl::StrCat(kMaster, "RunStep")] =
      ServeStepOnPool<tf::RunStepRequest, tf::RunStepResponse>(
          pool, [master](const auto& req, auto* resp, auto* after_reply,
                         const OnClientCancel& on_cancel) {
            absl::Status s = master->RunStep(req, resp, after_reply, on_cancel);
            if (!s.ok()) resp->clear_tensor();
            return StoreError(s, req.store_errors_in_response_body(), resp);
          });
  h[absl::StrCat(kMaster, "MakeCallable")] =
      ServeOnPool<tf::MakeCallableRequest, tf::MakeCallableResponse>(
          pool, [master](const auto& req, auto* resp, auto*) {
            return master->MakeCallable(req, resp);
          });
  h[absl::StrCat(kMaster, "RunCallable")] =
      ServeStepOnPool<tf::RunCallableRequest, tf::RunCallableResponse>(
          pool, [master](const auto& req, auto* resp, auto* after_reply,
                         const OnClientCancel& on_cancel) {
            return master->RunCallable(req, resp, after_reply, on_cancel);
          });
  h[absl::StrCat(kMaster, "ReleaseCallable")] =
      ServeOnPool<tf::ReleaseCallableRequest, tf::ReleaseCallableResponse>(
          pool, [master](const auto& req, auto*, auto*) {
            return master->ReleaseCallable(req);
          });
  h[absl::StrCat(kMaster, "CloseSession")] =
      ServeOnPool<tf::CloseSessionRequest, tf::CloseSessionResponse>(
          pool, [master](const auto& req, auto*, auto*) {
            return master->CloseSession(req);
          });
  h[absl::StrCat(kMaster, "ListDevices")] =
      ServeOnPool<tf::ListDevicesRequest, tf::ListDevicesResponse>(
          pool, [master](const auto& req, auto* resp, auto*) {
            return master->ListDevices(req, resp);
          });
  h[absl::StrCat(kMaster, "Reset")] =
      ServeOnPool<tf::ResetRequest, tf::ResetResponse>(
          pool, [master](const auto& req, auto*, auto*) {
            return master->Reset(req);
          });
}

// RunGraph: no thread waits for the step. The partition runs on the arena
// and its end answers the call; a caller that gives up (or whose deadline
// passes) fails the step here too.
void ServeRunGraph(Worker* worker, const grpc::ByteBuffer& request,
                   std::shared_ptr<Call> call) {
  struct Step {
    tf::RunGraphRequest request;
    tf::RunGraphResponse response;
  };
  auto step = std::make_shared<Step>();
  absl::Status s = Parse(&request, &step->request);
  if (!s.ok()) {
    call->Reply(s);
    return;
  }
  call->OnCancel([worker, id = step->request.step_id()] {
    worker->CancelStep(
        id, absl::CancelledError("the master cancelled RunGraph (it gave up "
                                 "on the step or its deadline passed)"));
  });
  worker->RunGraphAsync(
      step->request, &step->response, [call, step](absl::Status s) {
        s = StoreError(s, step->request.store_errors_in_response_body(),
                       &step->response);
        call->Reply(s, step->response);
      });
}

// RecvTensor: answered when the tensor is sent (inline if it already was),
// when the step is aborted, or when the receiver gives up; no thread
// waits. The response is written straight from the tensor's buffer.
void ServeRecvTensor(Worker* worker, const grpc::ByteBuffer& request,
                     std::shared_ptr<Call> call) {
  tf::RecvTensorRequest parsed;
  absl::Status s = Parse(&request, &parsed);
  if (!s.ok()) {
    call->Reply(s);
    return;
  }
  std::weak_ptr<Call> weak = call;
  call->OnCancel([weak] {
    if (auto c = weak.lock()) {
      c->Reply(absl::CancelledError("the receiver cancelled RecvTensor"));
    }
  });
  worker->RecvTensorAsync(
      parsed, [call](const absl::Status& s, const Tensor& t, bool dead) {
        call->Reply(s, [&](grpc::ByteBuffer* out) {
          EncodeRecvTensorResponse(t, dead, out);
        });
      });
}

void AddWorkerMethods(Worker* worker, RillServer::CallPool* pool,
                      absl::flat_hash_map<std::string, Handler>* out) {
  auto& h = *out;
  h[absl::StrCat(kWorker, "GetStatus")] =
      Serve<tf::GetStatusRequest, tf::GetStatusResponse>(
          [worker](const auto&, auto* resp) {
            worker->GetStatus(resp);
            return absl::OkStatus();
          });
  h[absl::StrCat(kWorker, "CreateWorkerSession")] =
      Serve<tf::CreateWorkerSessionRequest, tf::CreateWorkerSessionResponse>(
          [worker](const auto& req, auto*) {
            return worker->CreateWorkerSession(req);
          });
  h[absl::StrCat(kWorker, "DeleteWorkerSession")] =
      Serve<tf::DeleteWorkerSessionRequest, tf::DeleteWorkerSessionResponse>(
          [worker](const auto& req, auto*) {
            return worker->DeleteWorkerSession(req);
          });
  // Importing a graph and making its kernels takes a while: on the pool.
  h[absl::StrCat(kWorker, "RegisterGraph")] =
      ServeOnPool<tf::RegisterGraphRequest, tf::RegisterGraphResponse>(
          pool, [worker](const auto& req, auto* resp, auto*) {
            return worker->RegisterGraph(req, resp);
          });
  h[absl::StrCat(kWorker, "DeregisterGraph")] =
      Serve<tf::DeregisterGraphRequest, tf::DeregisterGraphResponse>(
          [worker](const auto& req, auto*) {
            return worker->DeregisterGraph(req);
          });
  h[absl::StrCat(kWorker, "RunGraph")] = [worker](const auto& request,
                                                  auto call) {
    ServeRunGraph(worker, request, std::move(call));
  };
  h[absl::StrCat(kWorker, "CleanupGraph")] =
      Serve<tf::CleanupGraphRequest, tf::CleanupGraphResponse>(
          [worker](const auto& req, auto*) {
            return worker->CleanupGraph(req.step_id());
          });
  h[absl::StrCat(kWorker, "CleanupAll")] =
      Serve<tf::CleanupAllRequest, tf::CleanupAllResponse>(
          [worker](const auto& req, auto*) {
            return worker->CleanupAll(std::vector<std::string>(
                req.container().begin(), req.container().end()));
          });
  h[absl::StrCat(kWorker, "RecvTensor")] = [worker](const auto& request,
                                                    auto call) {
    ServeRecvTensor(worker, request, std::move(call));
  };
}

void AddCollectiveMethods(CollectiveCoordinator* coordinator,
                          absl::flat_hash_map<std::string, Handler>* out) {
  constexpr char kService[] = "/rill.CollectiveService/";
  auto& h = *out;
  h[absl::StrCat(kService, "JoinGroup")] =
      Serve<JoinGroupRequest, JoinGroupResponse>(
          [coordinator](const auto& req, auto* resp) {
            return ServeJoinGroup(coordinator, req, resp);
          });
  h[absl::StrCat(kService, "StoreSet")] =
      Serve<StoreSetRequest, StoreSetResponse>(
          [coordinator](const auto& req, auto*) {
            return ServeStoreSet(coordinator, req);
          });
  h[absl::StrCat(kService, "StoreGet")] =
      Serve<StoreGetRequest, StoreGetResponse>(
          [coordinator](const auto& req, auto* resp) {
            ServeStoreGet(coordinator, req, resp);
            return absl::OkStatus();
          });
}

// Threads that poll the completion queue and run what completes.
constexpr int kQueueThreads = 1;
// Calls awaited at once (more are awaited as they are matched).
constexpr int kAwaitedCalls = 16;

}  // namespace

absl::StatusOr<std::unique_ptr<RillServer>> RillServer::Create(
    const ClusterSpec& cluster, const std::string& job, int task,
    const ServerOptions& options) {
  if (options.num_cpu_devices < 1 || options.num_cpu_devices > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a server needs 1 to 64 CPU devices, not ", options.num_cpu_devices));
  }
  if (options.max_message_bytes < kMinMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the message limit must be at least ", kMinMessageBytes,
                     " bytes, not ", options.max_message_bytes));
  }
  ASSIGN_OR_RETURN(std::string address, cluster.Address(job, task));
  std::unique_ptr<RillServer> server(new RillServer);
  server->task_name_ = TaskName(job, task);
  server->address_ = address;
  std::vector<Device*> devices;
  for (int i = 0; i < options.num_cpu_devices; ++i) {
    server->devices_.push_back(NewCpuDevice(job, 0, task, i));
    devices.push_back(server->devices_.back().get());
  }
  const int threads =
      options.num_threads > 0
          ? options.num_threads
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Every slot for the arena's own threads: no caller's thread joins it
  // (steps run with RunExecutorAsync; their callers block, not spin).
  // oneTBB lets a process have one worker thread fewer than cores unless
  // told otherwise; here every one of the arena's threads is a worker.
  server->parallelism_ = std::make_unique<oneapi::tbb::global_control>(
      oneapi::tbb::global_control::max_allowed_parallelism, threads + 1);
  server->arena_ = std::make_unique<oneapi::tbb::task_arena>(
      threads, /*reserved_for_masters=*/0);
  server->max_message_bytes_ = options.max_message_bytes;
  server->security_ = options.security;
  if (options.bind.empty()) {
    ASSIGN_OR_RETURN(server->bind_, HostOf(address));
  } else {
    server->bind_ = options.bind;
  }
  // An IPv6 literal takes brackets before its port.
  if (server->bind_.find(':') != std::string::npos &&
      server->bind_.front() != '[') {
    server->bind_ = absl::StrCat("[", server->bind_, "]");
  }
  // One completion queue for the server's calls and its calls to the
  // other tasks, polled by the server's queue threads from Start on.
  server->builder_ = std::make_unique<grpc::ServerBuilder>();
  server->cq_ = server->builder_->AddCompletionQueue();
  server->channels_ = std::make_unique<WorkerChannels>(
      cluster, options.max_message_bytes, server->cq_.get());
  server->coordinator_ = std::make_unique<CollectiveCoordinator>();
  // The worker's remote receives and the collectives' group formation go
  // through the worker cache, whose in-process worker is bound once made.
  server->workers_ = std::make_unique<GrpcWorkerCache>(
      server->task_name_, server->channels_.get(), server->coordinator_.get());
  const auto [coordinator_job, coordinator_index] = CoordinatorTask(cluster);
  const std::string coordinator_task =
      TaskName(coordinator_job, coordinator_index);
  ASSIGN_OR_RETURN(WorkerInterface * coordinator_worker,
                   server->workers_->GetWorker(coordinator_task));
  server->coordinator_client_ = std::make_unique<WorkerCoordinatorClient>(
      coordinator_task, coordinator_worker);
  GlooExecutorOptions collectives = options.collectives;
  ASSIGN_OR_RETURN(collectives.hostname, HostOf(address));
  // Gloo listens on one address: loopback by number, not by a name that may
  // resolve to ::1.
  if (collectives.hostname == "localhost") collectives.hostname = "127.0.0.1";
  server->collectives_ = std::make_unique<GlooCollectiveExecutor>(
      server->coordinator_client_.get(), collectives);
  WorkerOptions worker_options = options.worker;
  worker_options.collectives = server->collectives_.get();
  server->worker_ = std::make_unique<Worker>(
      server->task_name_, devices, server->arena_.get(), server->workers_.get(),
      worker_options);
  server->workers_->BindLocal(server->worker_.get());
  server->master_ = std::make_unique<Master>(
      server->task_name_, server->workers_.get(), options.master);
  server->master_pool_ = std::make_unique<CallPool>(options.max_master_threads);
  server->worker_pool_ = std::make_unique<CallPool>(options.max_worker_threads);
  server->dispatcher_ = std::make_unique<Dispatcher>();
  server->dispatcher_->auth_token = options.security.auth_token;
  AddMasterMethods(server->master_.get(), server->master_pool_.get(),
                   &server->dispatcher_->handlers);
  AddWorkerMethods(server->worker_.get(), server->worker_pool_.get(),
                   &server->dispatcher_->handlers);
  AddCollectiveMethods(server->coordinator_.get(),
                       &server->dispatcher_->handlers);
  return server;
}

absl::Status RillServer::Start() {
  ASSIGN_OR_RETURN(int port, PortOf(address_));
  if (builder_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task_name_, " was started before"));
  }
  grpc::ServerBuilder& builder = *builder_;
  int bound = 0;
  const std::string listen = absl::StrCat(bind_, ":", port);
  builder.AddListeningPort(listen, RillServerCredentials(security_), &bound);
  // One task per port: without this, gRPC lets a second server share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
                             kStreamWindowBytes);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, kMaxFrameBytes);
  // Rill's channels ping every kKeepaliveMs while a call is in flight: let
  // them (gRPC's default would answer such pings with GOAWAY).
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, kKeepaliveMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetMaxReceiveMessageSize(max_message_bytes_);
  builder.SetMaxSendMessageSize(max_message_bytes_);
  generic_ = std::make_unique<grpc::AsyncGenericService>();
  builder.RegisterAsyncGenericService(generic_.get());
  server_ = builder.BuildAndStart();
  builder_.reset();
  if (server_ == nullptr || bound == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "task ", task_name_, " cannot listen on ", listen,
        " (is another server using the port, or is the address not one of "
        "this host's? --bind chooses it)"));
  }
  for (int i = 0; i < kAwaitedCalls; ++i) {
    AsyncCall::Await(dispatcher_.get(), generic_.get(), cq_.get());
  }
  for (int i = 0; i < kQueueThreads; ++i) {
    queue_threads_.emplace_back([cq = cq_.get()] {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) static_cast<QueueTag*>(tag)->Run(ok);
    });
  }
  return absl::OkStatus();
}

void RillServer::Stop() {
  if (server_ == nullptr || stopped_) return;
  stopped_ = true;
  worker_->AbortAllSteps();
  // Collectives waiting on other tasks end, so their steps can.
  collectives_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
  // Every matched call is answered (the aborted steps end theirs), and
  // every call to another task has ended, before the queue closes: no
  // operation may start on a closed queue.
  dispatcher_->WaitForCalls();
  channels_->Close();
  CloseQueue();
}

void RillServer::CloseQueue() {
  if (cq_ == nullptr || queue_closed_) return;
  queue_closed_ = true;
  cq_->Shutdown();
  if (queue_threads_.empty()) {  // Never started: drain it here.
    void* tag;
    bool ok;
    while (cq_->Next(&tag, &ok)) static_cast<QueueTag*>(tag)->Run(ok);
  }
  for (auto& t : queue_threads_) t.join();
  queue_threads_.clear();
}

RillServer::~RillServer() {
  Stop();
  // Never started, or failed to: the queue is still open.
  if (channels_ != nullptr) channels_->Close();
  CloseQueue();
  // The server before its queue; the rest in reverse order of making.
  master_pool_.reset();
  worker_pool_.reset();
  server_.reset();
  cq_.reset();
}

void RillServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace rill
