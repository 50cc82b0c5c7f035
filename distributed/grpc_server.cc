#include "distributed/grpc_server.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"
#include "distributed/protos/master_service.grpc.pb.h"
#include "distributed/protos/worker_service.grpc.pb.h"
#include "distributed/tensor_coding.h"
#include "grpcpp/grpcpp.h"

namespace rill {

namespace {

// Milliseconds left before the call's deadline (capped), at least 1.
int64_t MillisLeft(const grpc::ServerContextBase* ctx, int64_t cap) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        ctx->deadline() - std::chrono::system_clock::now())
                        .count();
  return std::max<int64_t>(1, std::min<int64_t>(left, cap));
}

}  // namespace

class RillServer::MasterServiceImpl
    : public ::tensorflow::MasterService::Service {
 public:
  explicit MasterServiceImpl(Master* master) : master_(master) {}

  grpc::Status CreateSession(
      grpc::ServerContext*, const ::tensorflow::CreateSessionRequest* request,
      ::tensorflow::CreateSessionResponse* response) override {
    return ToGrpc(master_->CreateSession(*request, response));
  }
  grpc::Status ExtendSession(
      grpc::ServerContext*, const ::tensorflow::ExtendSessionRequest* request,
      ::tensorflow::ExtendSessionResponse* response) override {
    return ToGrpc(master_->ExtendSession(*request, response));
  }
  grpc::Status RunStep(grpc::ServerContext*,
                       const ::tensorflow::RunStepRequest* request,
                       ::tensorflow::RunStepResponse* response) override {
    absl::Status s = master_->RunStep(*request, response);
    if (!s.ok() && request->store_errors_in_response_body()) {
      response->clear_tensor();
      response->set_status_code(static_cast<int>(s.code()));
      response->set_status_error_message(std::string(s.message()));
      return grpc::Status::OK;
    }
    return ToGrpc(s);
  }
  grpc::Status CloseSession(grpc::ServerContext*,
                            const ::tensorflow::CloseSessionRequest* request,
                            ::tensorflow::CloseSessionResponse*) override {
    return ToGrpc(master_->CloseSession(*request));
  }
  grpc::Status ListDevices(
      grpc::ServerContext*, const ::tensorflow::ListDevicesRequest* request,
      ::tensorflow::ListDevicesResponse* response) override {
    return ToGrpc(master_->ListDevices(*request, response));
  }
  grpc::Status Reset(grpc::ServerContext*,
                     const ::tensorflow::ResetRequest* request,
                     ::tensorflow::ResetResponse*) override {
    return ToGrpc(master_->Reset(*request));
  }

 private:
  Master* const master_;
};

// One RecvTensor call: finished exactly once, by whichever comes first of
// the tensor (or the step's abort) and the receiver's cancellation.
class RecvTensorReactor : public grpc::ServerUnaryReactor {
 public:
  struct State {
    absl::Mutex mu;
    RecvTensorReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
    bool finished ABSL_GUARDED_BY(mu) = false;
    grpc::ByteBuffer* response = nullptr;
  };

  explicit RecvTensorReactor(grpc::ByteBuffer* response)
      : state_(std::make_shared<State>()) {
    absl::MutexLock lock(&state_->mu);
    state_->reactor = this;
    state_->response = response;
  }
  std::shared_ptr<State> state() const { return state_; }

  static void Complete(const std::shared_ptr<State>& state,
                       const absl::Status& status, const Tensor& value,
                       bool dead) {
    RecvTensorReactor* reactor;
    {
      absl::MutexLock lock(&state->mu);
      if (state->finished || state->reactor == nullptr) return;
      state->finished = true;
      reactor = state->reactor;
      if (status.ok()) EncodeRecvTensorResponse(value, dead, state->response);
    }
    reactor->Finish(ToGrpc(status));
  }

  void OnCancel() override {
    Complete(state_, absl::CancelledError("the receiver cancelled RecvTensor"),
             Tensor(), false);
  }
  void OnDone() override {
    {
      absl::MutexLock lock(&state_->mu);
      state_->reactor = nullptr;
    }
    delete this;
  }

 private:
  std::shared_ptr<State> state_;
};

// RecvTensor is a raw-bytes callback method: its response is written by
// distributed/tensor_coding.h straight from the tensor's buffer.
class RillServer::WorkerServiceImpl
    : public ::tensorflow::WorkerService::WithRawCallbackMethod_RecvTensor<
          ::tensorflow::WorkerService::Service> {
 public:
  WorkerServiceImpl(Worker* worker, int64_t recv_timeout_ms)
      : worker_(worker), recv_timeout_ms_(recv_timeout_ms) {}

  grpc::Status GetStatus(grpc::ServerContext*,
                         const ::tensorflow::GetStatusRequest*,
                         ::tensorflow::GetStatusResponse* response) override {
    worker_->GetStatus(response);
    return grpc::Status::OK;
  }
  grpc::Status CreateWorkerSession(
      grpc::ServerContext*,
      const ::tensorflow::CreateWorkerSessionRequest* request,
      ::tensorflow::CreateWorkerSessionResponse*) override {
    return ToGrpc(worker_->CreateWorkerSession(*request));
  }
  grpc::Status DeleteWorkerSession(
      grpc::ServerContext*,
      const ::tensorflow::DeleteWorkerSessionRequest* request,
      ::tensorflow::DeleteWorkerSessionResponse*) override {
    return ToGrpc(worker_->DeleteWorkerSession(*request));
  }
  grpc::Status RegisterGraph(
      grpc::ServerContext*, const ::tensorflow::RegisterGraphRequest* request,
      ::tensorflow::RegisterGraphResponse* response) override {
    return ToGrpc(worker_->RegisterGraph(*request, response));
  }
  grpc::Status DeregisterGraph(
      grpc::ServerContext*, const ::tensorflow::DeregisterGraphRequest* request,
      ::tensorflow::DeregisterGraphResponse*) override {
    return ToGrpc(worker_->DeregisterGraph(*request));
  }
  grpc::Status RunGraph(grpc::ServerContext* ctx,
                        const ::tensorflow::RunGraphRequest* request,
                        ::tensorflow::RunGraphResponse* response) override {
    const bool has_deadline =
        ctx->deadline() != std::chrono::system_clock::time_point::max();
    absl::Status s = worker_->RunGraph(
        *request, response, has_deadline ? MillisLeft(ctx, INT64_MAX) : 0);
    if (!s.ok() && request->store_errors_in_response_body()) {
      response->set_status_code(static_cast<int>(s.code()));
      response->set_status_error_message(std::string(s.message()));
      return grpc::Status::OK;
    }
    return ToGrpc(s);
  }
  grpc::Status CleanupGraph(grpc::ServerContext*,
                            const ::tensorflow::CleanupGraphRequest* request,
                            ::tensorflow::CleanupGraphResponse*) override {
    return ToGrpc(worker_->CleanupGraph(request->step_id()));
  }
  grpc::Status CleanupAll(grpc::ServerContext*,
                          const ::tensorflow::CleanupAllRequest* request,
                          ::tensorflow::CleanupAllResponse*) override {
    return ToGrpc(worker_->CleanupAll(std::vector<std::string>(
        request->container().begin(), request->container().end())));
  }
  grpc::ServerUnaryReactor* RecvTensor(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    ::tensorflow::RecvTensorRequest parsed;
    if (request->Dump(&slices).ok()) {
      for (const auto& s : slices) {
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    if (!parsed.ParseFromString(bytes)) {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "malformed RecvTensorRequest"));
      return reactor;
    }
    // Answered when the tensor is sent (inline if it already was), when
    // the step is aborted, or when the receiver gives up: no thread waits.
    auto* reactor = new RecvTensorReactor(response);
    auto state = reactor->state();
    worker_->RecvTensorAsync(
        parsed, [state](const absl::Status& s, const Tensor& t, bool dead) {
          RecvTensorReactor::Complete(state, s, t, dead);
        });
    return reactor;
  }

 private:
  Worker* const worker_;
  const int64_t recv_timeout_ms_;
};

absl::StatusOr<std::unique_ptr<RillServer>> RillServer::Create(
    const ClusterSpec& cluster, const std::string& job, int task,
    const ServerOptions& options) {
  if (options.num_cpu_devices < 1 || options.num_cpu_devices > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a server needs 1 to 64 CPU devices, not ", options.num_cpu_devices));
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
  server->arena_ = std::make_unique<oneapi::tbb::task_arena>(threads);
  server->channels_ = std::make_unique<WorkerChannels>(cluster);
  server->worker_ = std::make_unique<Worker>(
      server->task_name_, devices, server->arena_.get(),
      server->channels_.get(), options.worker);
  server->master_ =
      std::make_unique<Master>(server->task_name_, server->worker_.get(),
                               server->channels_.get(), options.master);
  server->master_service_ =
      std::make_unique<MasterServiceImpl>(server->master_.get());
  server->worker_service_ = std::make_unique<WorkerServiceImpl>(
      server->worker_.get(), options.worker.recv_timeout_ms);
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
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
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
