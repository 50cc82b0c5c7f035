#include "distributed/worker_cache.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "distributed/collective_client.h"
#include "distributed/grpc_util.h"
#include "distributed/tensor_coding.h"

namespace rill {

void LocalWorker::GetStatusAsync(const ::tensorflow::GetStatusRequest&,
                                 ::tensorflow::GetStatusResponse* response,
                                 const WorkerCallOptions&, Done done) {
  worker_->GetStatus(response);
  done(absl::OkStatus());
}

void LocalWorker::RegisterGraphAsync(
    const ::tensorflow::RegisterGraphRequest& request,
    ::tensorflow::RegisterGraphResponse* response, const WorkerCallOptions&,
    Done done) {
  done(worker_->RegisterGraph(request, response));
}

void LocalWorker::DeregisterGraphAsync(
    const ::tensorflow::DeregisterGraphRequest& request,
    ::tensorflow::DeregisterGraphResponse*, const WorkerCallOptions&,
    Done done) {
  done(worker_->DeregisterGraph(request));
}

void LocalWorker::RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                                ::tensorflow::RunGraphResponse* response,
                                const WorkerCallOptions& options, Done done) {
  done(worker_->RunGraph(request, response, options.timeout_ms));
}

void LocalWorker::CleanupGraphAsync(
    const ::tensorflow::CleanupGraphRequest& request,
    ::tensorflow::CleanupGraphResponse*, const WorkerCallOptions&, Done done) {
  done(worker_->CleanupGraph(request.step_id()));
}

void LocalWorker::CleanupAllAsync(
    const ::tensorflow::CleanupAllRequest& request,
    ::tensorflow::CleanupAllResponse*, const WorkerCallOptions&, Done done) {
  done(worker_->CleanupAll(
      {request.container().begin(), request.container().end()}));
}

void LocalWorker::RecvTensorAsync(
    const ::tensorflow::RecvTensorRequest& request, RecvTensorReply* reply,
    const WorkerCallOptions& options, Done done) {
  done(worker_->RecvTensor(request, options.timeout_ms, &reply->tensor,
                           &reply->is_dead));
}

absl::Status LocalWorker::NoCoordinator() const {
  return absl::UnimplementedError(absl::StrCat(
      "task ", worker_->task_name(), " has no collective coordinator"));
}

void LocalWorker::JoinGroupAsync(const JoinGroupRequest& request,
                                 JoinGroupResponse* response,
                                 const WorkerCallOptions&, Done done) {
  done(coordinator_ == nullptr
           ? NoCoordinator()
           : ServeJoinGroup(coordinator_, request, response));
}

void LocalWorker::StoreSetAsync(const StoreSetRequest& request,
                                StoreSetResponse*, const WorkerCallOptions&,
                                Done done) {
  done(coordinator_ == nullptr ? NoCoordinator()
                               : ServeStoreSet(coordinator_, request));
}

void LocalWorker::StoreGetAsync(const StoreGetRequest& request,
                                StoreGetResponse* response,
                                const WorkerCallOptions&, Done done) {
  if (coordinator_ == nullptr) {
    done(NoCoordinator());
    return;
  }
  ServeStoreGet(coordinator_, request, response);
  done(absl::OkStatus());
}

bool GrpcRemoteWorker::Cancelled(const WorkerCallOptions& options,
                                 Done* done) const {
  if (options.canceller == nullptr || !options.canceller->cancelled()) {
    return false;
  }
  (*done)(absl::CancelledError(
      absl::StrCat("the call to task ", task_, " was cancelled")));
  return true;
}

std::shared_ptr<grpc::ClientContext> GrpcRemoteWorker::Context(
    const WorkerCallOptions& options) {
  auto ctx = std::make_shared<grpc::ClientContext>();
  if (options.timeout_ms > 0) ctx->set_deadline(DeadlineIn(options.timeout_ms));
  if (options.wait_for_ready) ctx->set_wait_for_ready(true);
  return ctx;
}

template <typename Stub, typename Request, typename Response>
void GrpcRemoteWorker::Start(absl::StatusOr<Stub*> stub,
                             Prepare<Stub, Request, Response> prepare,
                             const Request& request, Response* response,
                             const WorkerCallOptions& options, Done done,
                             bool name_peer) {
  if (!stub.ok()) {
    done(stub.status());
    return;
  }
  if (Cancelled(options, &done)) return;
  std::shared_ptr<grpc::ClientContext> ctx = Context(options);
  channels_->Start(((*stub)->*prepare)(ctx.get(), request, channels_->queue()),
                   ctx.get(), response,
                   [ctx, task = task_, name_peer,
                    done = std::move(done)](const grpc::Status& s) {
                     done(FromGrpc(s, absl::StrCat("task ", task), name_peer));
                   });
  // The context lives as long as this: a late Cancel does nothing.
  if (options.canceller != nullptr) {
    options.canceller->OnCancel([ctx] { ctx->TryCancel(); });
  }
}

using Stub = ::tensorflow::WorkerService::Stub;

void GrpcRemoteWorker::GetStatusAsync(
    const ::tensorflow::GetStatusRequest& request,
    ::tensorflow::GetStatusResponse* response, const WorkerCallOptions& options,
    Done done) {
  Start(channels_->Stub(task_), &Stub::PrepareAsyncGetStatus, request, response,
        options, std::move(done));
}

void GrpcRemoteWorker::RegisterGraphAsync(
    const ::tensorflow::RegisterGraphRequest& request,
    ::tensorflow::RegisterGraphResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(channels_->Stub(task_), &Stub::PrepareAsyncRegisterGraph, request,
        response, options, std::move(done));
}

void GrpcRemoteWorker::DeregisterGraphAsync(
    const ::tensorflow::DeregisterGraphRequest& request,
    ::tensorflow::DeregisterGraphResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(channels_->Stub(task_), &Stub::PrepareAsyncDeregisterGraph, request,
        response, options, std::move(done));
}

void GrpcRemoteWorker::RunGraphAsync(
    const ::tensorflow::RunGraphRequest& request,
    ::tensorflow::RunGraphResponse* response, const WorkerCallOptions& options,
    Done done) {
  Start(channels_->Stub(task_), &Stub::PrepareAsyncRunGraph, request, response,
        options, std::move(done));
}

void GrpcRemoteWorker::CleanupGraphAsync(
    const ::tensorflow::CleanupGraphRequest& request,
    ::tensorflow::CleanupGraphResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(channels_->Stub(task_), &Stub::PrepareAsyncCleanupGraph, request,
        response, options, std::move(done));
}

void GrpcRemoteWorker::CleanupAllAsync(
    const ::tensorflow::CleanupAllRequest& request,
    ::tensorflow::CleanupAllResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(channels_->Stub(task_), &Stub::PrepareAsyncCleanupAll, request,
        response, options, std::move(done));
}

void GrpcRemoteWorker::RecvTensorAsync(
    const ::tensorflow::RecvTensorRequest& request, RecvTensorReply* reply,
    const WorkerCallOptions& options, Done done) {
  absl::StatusOr<grpc::GenericStub*> stub = channels_->RawStub(task_);
  if (!stub.ok()) {
    done(stub.status());
    return;
  }
  if (Cancelled(options, &done)) return;
  // The reply's bytes are decoded into the tensor without a protobuf copy.
  struct Call {
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto call = std::make_shared<Call>();
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  call->request = grpc::ByteBuffer(&slice, 1);
  std::shared_ptr<grpc::ClientContext> ctx = Context(options);
  channels_->Start(
      (*stub)->PrepareUnaryCall(ctx.get(),
                                "/tensorflow.WorkerService/RecvTensor",
                                call->request, channels_->queue()),
      ctx.get(), &call->response,
      [ctx, call, reply, task = task_, limit = channels_->max_message_bytes(),
       done = std::move(done)](const grpc::Status& s) {
        if (!s.ok()) {
          done(FromGrpc(s, absl::StrCat("task ", task, " (RecvTensor)")));
          return;
        }
        done(DecodeRecvTensorResponse(call->response, limit, &reply->tensor,
                                      &reply->is_dead));
      });
  if (options.canceller != nullptr) {
    options.canceller->OnCancel([ctx] { ctx->TryCancel(); });
  }
}

using Collective = CollectiveService::Stub;

void GrpcRemoteWorker::JoinGroupAsync(const JoinGroupRequest& request,
                                      JoinGroupResponse* response,
                                      const WorkerCallOptions& options,
                                      Done done) {
  Start(channels_->CollectiveStub(task_), &Collective::PrepareAsyncJoinGroup,
        request, response, options, std::move(done), /*name_peer=*/false);
}

void GrpcRemoteWorker::StoreSetAsync(const StoreSetRequest& request,
                                     StoreSetResponse* response,
                                     const WorkerCallOptions& options,
                                     Done done) {
  Start(channels_->CollectiveStub(task_), &Collective::PrepareAsyncStoreSet,
        request, response, options, std::move(done), /*name_peer=*/false);
}

void GrpcRemoteWorker::StoreGetAsync(const StoreGetRequest& request,
                                     StoreGetResponse* response,
                                     const WorkerCallOptions& options,
                                     Done done) {
  Start(channels_->CollectiveStub(task_), &Collective::PrepareAsyncStoreGet,
        request, response, options, std::move(done), /*name_peer=*/false);
}

GrpcWorkerCache::GrpcWorkerCache(std::string local_task,
                                 WorkerChannels* channels,
                                 CollectiveCoordinator* coordinator)
    : local_task_(std::move(local_task)),
      local_(nullptr, coordinator),
      channels_(channels) {}

std::vector<std::string> GrpcWorkerCache::Tasks() const {
  return channels_->cluster().TaskNames();
}

absl::StatusOr<WorkerInterface*> GrpcWorkerCache::GetWorker(
    const std::string& task) {
  if (task == local_task_) return &local_;
  absl::MutexLock lock(&mu_);
  auto it = remote_.find(task);
  if (it != remote_.end()) return it->second.get();
  // Fails for a task outside the cluster, naming it.
  RETURN_IF_ERROR(channels_->Stub(task).status());
  auto& slot = remote_[task];
  slot = std::make_unique<GrpcRemoteWorker>(task, channels_);
  return slot.get();
}

}  // namespace rill
