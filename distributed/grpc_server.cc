#include "distributed/grpc_server.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"
#include "distributed/protos/master_service.grpc.pb.h"
#include "distributed/protos/worker_service.grpc.pb.h"
#include "distributed/tensor_coding.h"
#include "grpcpp/grpcpp.h"

namespace rill {

namespace {

namespace tf = ::tensorflow;

// One call of either service, answered exactly once (the first Reply wins;
// later ones, say a tensor arriving after the receiver gave up, do
// nothing). Shared by the call's reactor and whatever answers it, so it
// outlives the reactor.
class Call {
 public:
  explicit Call(grpc::ByteBuffer* response) : response_(response) {}

  void Bind(grpc::ServerUnaryReactor* reactor) {
    absl::MutexLock lock(&mu_);
    reactor_ = reactor;
  }
  // `fill` writes the response while the call is still open.
  void Reply(const absl::Status& status,
             const std::function<void(grpc::ByteBuffer*)>& fill = nullptr) {
    grpc::ServerUnaryReactor* reactor;
    std::function<void()> hook;  // Destroyed outside the lock.
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      reactor = reactor_;
      hook = std::move(cancel_hook_);
      if (status.ok() && fill != nullptr) fill(response_);
    }
    reactor->Finish(ToGrpc(status));
  }
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
  grpc::ServerUnaryReactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  grpc::ByteBuffer* const response_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> cancel_hook_ ABSL_GUARDED_BY(mu_);
};

class CallReactor : public grpc::ServerUnaryReactor {
 public:
  explicit CallReactor(grpc::ByteBuffer* response)
      : call_(std::make_shared<Call>(response)) {
    call_->Bind(this);
  }
  const std::shared_ptr<Call>& call() const { return call_; }
  void OnCancel() override { call_->Cancelled(); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<Call> call_;
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
class RillServer::CallPool {
 public:
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
    if (idle_ < static_cast<int>(queue_.size())) {
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

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Serves a method whose work is quick: parsed, run and answered on gRPC's
// thread.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* Serve(
    const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
    const std::function<absl::Status(const Request&, Response*)>& fn) {
  auto* reactor = new CallReactor(response);
  Request parsed;
  Response out;
  absl::Status s = Parse(request, &parsed);
  if (s.ok()) s = fn(parsed, &out);
  reactor->call()->Reply(s, out);
  return reactor;
}

// Serves a method whose work blocks: parsed on gRPC's thread, run and
// answered on the pool.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* ServeOnPool(
    RillServer::CallPool* pool, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response,
    std::function<absl::Status(const Request&, Response*)> fn) {
  auto* reactor = new CallReactor(response);
  auto parsed = std::make_shared<Request>();
  absl::Status s = Parse(request, parsed.get());
  if (!s.ok()) {
    reactor->call()->Reply(s);
    return reactor;
  }
  pool->Schedule([call = reactor->call(), parsed, fn = std::move(fn)] {
    Response out;
    absl::Status s = fn(*parsed, &out);
    call->Reply(s, out);
  });
  return reactor;
}

}  // namespace

// Every method is a raw-bytes callback method: Rill parses the request (a
// malformed one is INVALID_ARGUMENT, and gRPC itself refuses one over the
// message limit with RESOURCE_EXHAUSTED), and no gRPC thread waits for a
// step. The master's methods, which wait on other tasks, run on the pool.
#define RILL_RAW(Service, Method) \
  ::tensorflow::Service::WithRawCallbackMethod_##Method
using RawMasterService = RILL_RAW(MasterService, CreateSession) <
                         RILL_RAW(MasterService, ExtendSession) <
                         RILL_RAW(MasterService, RunStep) <
                         RILL_RAW(MasterService, CloseSession) <
                         RILL_RAW(MasterService, ListDevices) <
                         RILL_RAW(MasterService, Reset) <
                         ::tensorflow::MasterService::Service >>>>>>
    ;
using RawWorkerService = RILL_RAW(WorkerService, GetStatus) <
                         RILL_RAW(WorkerService, CreateWorkerSession) <
                         RILL_RAW(WorkerService, DeleteWorkerSession) <
                         RILL_RAW(WorkerService, RegisterGraph) <
                         RILL_RAW(WorkerService, DeregisterGraph) <
                         RILL_RAW(WorkerService, RunGraph) <
                         RILL_RAW(WorkerService, CleanupGraph) <
                         RILL_RAW(WorkerService, CleanupAll) <
                         RILL_RAW(WorkerService, RecvTensor) <
                         ::tensorflow::WorkerService::Service >>>>>>>>>
    ;
#undef RILL_RAW

using Ctx = grpc::CallbackServerContext;
using Bytes = grpc::ByteBuffer;

class RillServer::MasterServiceImpl : public RawMasterService {
 public:
  MasterServiceImpl(Master* master, CallPool* pool)
      : master_(master), pool_(pool) {}

  grpc::ServerUnaryReactor* CreateSession(Ctx*, const Bytes* request,
                                          Bytes* response) override {
    return ServeOnPool<tf::CreateSessionRequest, tf::CreateSessionResponse>(
        pool_, request, response, [this](const auto& req, auto* resp) {
          return master_->CreateSession(req, resp);
        });
  }
  grpc::ServerUnaryReactor* ExtendSession(Ctx*, const Bytes* request,
                                          Bytes* response) override {
    return ServeOnPool<tf::ExtendSessionRequest, tf::ExtendSessionResponse>(
        pool_, request, response, [this](const auto& req, auto* resp) {
          return master_->ExtendSession(req, resp);
        });
  }
  grpc::ServerUnaryReactor* RunStep(Ctx*, const Bytes* request,
                                    Bytes* response) override {
    return ServeOnPool<tf::RunStepRequest, tf::RunStepResponse>(
        pool_, request, response, [this](const auto& req, auto* resp) {
          absl::Status s = master_->RunStep(req, resp);
          if (!s.ok()) resp->clear_tensor();
          return StoreError(s, req.store_errors_in_response_body(), resp);
        });
  }
  grpc::ServerUnaryReactor* CloseSession(Ctx*, const Bytes* request,
                                         Bytes* response) override {
    return ServeOnPool<tf::CloseSessionRequest, tf::CloseSessionResponse>(
        pool_, request, response,
        [this](const auto& req, auto*) { return master_->CloseSession(req); });
  }
  grpc::ServerUnaryReactor* ListDevices(Ctx*, const Bytes* request,
                                        Bytes* response) override {
    return ServeOnPool<tf::ListDevicesRequest, tf::ListDevicesResponse>(
        pool_, request, response, [this](const auto& req, auto* resp) {
          return master_->ListDevices(req, resp);
        });
  }
  grpc::ServerUnaryReactor* Reset(Ctx*, const Bytes* request,
                                  Bytes* response) override {
    return ServeOnPool<tf::ResetRequest, tf::ResetResponse>(
        pool_, request, response,
        [this](const auto& req, auto*) { return master_->Reset(req); });
  }

 private:
  Master* const master_;
  CallPool* const pool_;
};

class RillServer::WorkerServiceImpl : public RawWorkerService {
 public:
  WorkerServiceImpl(Worker* worker, CallPool* pool)
      : worker_(worker), pool_(pool) {}

  grpc::ServerUnaryReactor* GetStatus(Ctx*, const Bytes* request,
                                      Bytes* response) override {
    return Serve<tf::GetStatusRequest, tf::GetStatusResponse>(
        request, response, [this](const auto&, auto* resp) {
          worker_->GetStatus(resp);
          return absl::OkStatus();
        });
  }
  grpc::ServerUnaryReactor* CreateWorkerSession(Ctx*, const Bytes* request,
                                                Bytes* response) override {
    return Serve<tf::CreateWorkerSessionRequest,
                 tf::CreateWorkerSessionResponse>(
        request, response, [this](const auto& req, auto*) {
          return worker_->CreateWorkerSession(req);
        });
  }
  grpc::ServerUnaryReactor* DeleteWorkerSession(Ctx*, const Bytes* request,
                                                Bytes* response) override {
    return Serve<tf::DeleteWorkerSessionRequest,
                 tf::DeleteWorkerSessionResponse>(
        request, response, [this](const auto& req, auto*) {
          return worker_->DeleteWorkerSession(req);
        });
  }
  grpc::ServerUnaryReactor* RegisterGraph(Ctx*, const Bytes* request,
                                          Bytes* response) override {
    // Importing a graph and making its kernels takes a while: on the pool.
    return ServeOnPool<tf::RegisterGraphRequest, tf::RegisterGraphResponse>(
        pool_, request, response, [this](const auto& req, auto* resp) {
          return worker_->RegisterGraph(req, resp);
        });
  }
  grpc::ServerUnaryReactor* DeregisterGraph(Ctx*, const Bytes* request,
                                            Bytes* response) override {
    return Serve<tf::DeregisterGraphRequest, tf::DeregisterGraphResponse>(
        request, response, [this](const auto& req, auto*) {
          return worker_->DeregisterGraph(req);
        });
  }
  grpc::ServerUnaryReactor* RunGraph(Ctx*, const Bytes* request,
                                     Bytes* response) override {
    // No thread waits for the step: the partition runs on the arena and
    // its end answers the call. A caller that gives up (or whose deadline
    // passes) fails the step here too.
    auto* reactor = new CallReactor(response);
    struct Step {
      tf::RunGraphRequest request;
      tf::RunGraphResponse response;
    };
    auto step = std::make_shared<Step>();
    absl::Status s = Parse(request, &step->request);
    if (!s.ok()) {
      reactor->call()->Reply(s);
      return reactor;
    }
    std::shared_ptr<Call> call = reactor->call();
    call->OnCancel([worker = worker_, id = step->request.step_id()] {
      worker->CancelStep(
          id, absl::CancelledError("the master cancelled RunGraph (it gave "
                                   "up on the step or its deadline passed)"));
    });
    worker_->RunGraphAsync(
        step->request, &step->response, [call, step](absl::Status s) {
          s = StoreError(s, step->request.store_errors_in_response_body(),
                         &step->response);
          call->Reply(s, step->response);
        });
    return reactor;
  }
  grpc::ServerUnaryReactor* CleanupGraph(Ctx*, const Bytes* request,
                                         Bytes* response) override {
    return Serve<tf::CleanupGraphRequest, tf::CleanupGraphResponse>(
        request, response, [this](const auto& req, auto*) {
          return worker_->CleanupGraph(req.step_id());
        });
  }
  grpc::ServerUnaryReactor* CleanupAll(Ctx*, const Bytes* request,
                                       Bytes* response) override {
    return Serve<tf::CleanupAllRequest, tf::CleanupAllResponse>(
        request, response, [this](const auto& req, auto*) {
          return worker_->CleanupAll(std::vector<std::string>(
              req.container().begin(), req.container().end()));
        });
  }
  grpc::ServerUnaryReactor* RecvTensor(Ctx*, const Bytes* request,
                                       Bytes* response) override {
    // Answered when the tensor is sent (inline if it already was), when the
    // step is aborted, or when the receiver gives up: no thread waits. The
    // response is written straight from the tensor's buffer.
    auto* reactor = new CallReactor(response);
    tf::RecvTensorRequest parsed;
    absl::Status s = Parse(request, &parsed);
    if (!s.ok()) {
      reactor->call()->Reply(s);
      return reactor;
    }
    std::shared_ptr<Call> call = reactor->call();
    call->OnCancel([call] {
      call->Reply(absl::CancelledError("the receiver cancelled RecvTensor"));
    });
    worker_->RecvTensorAsync(
        parsed, [call](const absl::Status& s, const Tensor& t, bool dead) {
          call->Reply(s, [&](grpc::ByteBuffer* out) {
            EncodeRecvTensorResponse(t, dead, out);
          });
        });
    return reactor;
  }

 private:
  Worker* const worker_;
  CallPool* const pool_;
};

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
  server->channels_ =
      std::make_unique<WorkerChannels>(cluster, options.max_message_bytes);
  server->worker_ = std::make_unique<Worker>(
      server->task_name_, devices, server->arena_.get(),
      server->channels_.get(), options.worker);
  server->master_ =
      std::make_unique<Master>(server->task_name_, server->worker_.get(),
                               server->channels_.get(), options.master);
  server->pool_ = std::make_unique<CallPool>();
  server->master_service_ = std::make_unique<MasterServiceImpl>(
      server->master_.get(), server->pool_.get());
  server->worker_service_ = std::make_unique<WorkerServiceImpl>(
      server->worker_.get(), server->pool_.get());
  return server;
}

RillServer::~RillServer() { Stop(); }

absl::Status RillServer::Start() {
  ASSIGN_OR_RETURN(int port, PortOf(address_));
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("0.0.0.0:", port),
                           grpc::InsecureServerCredentials(), &bound);
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
  builder.RegisterService(master_service_.get());
  builder.RegisterService(worker_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || bound == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("task ", task_name_, " cannot listen on port ", port,
                     " (is another server using it?)"));
  }
  return absl::OkStatus();
}

void RillServer::Stop() {
  if (server_ == nullptr) return;
  worker_->AbortAllSteps();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
}

void RillServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace rill
