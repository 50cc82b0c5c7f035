#include "distributed/worker_cache.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"

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

template <typename Request, typename Response>
void GrpcRemoteWorker::Start(Prepare<Request, Response> prepare,
                             const Request& request, Response* response,
                             const WorkerCallOptions& options, Done done) {
  absl::StatusOr<::tensorflow::WorkerService::Stub*> stub =
      channels_->Stub(task_);
  if (!stub.ok()) {
    done(stub.status());
    return;
  }
  auto ctx = std::make_shared<grpc::ClientContext>();
  if (options.timeout_ms > 0) ctx->set_deadline(DeadlineIn(options.timeout_ms));
  if (options.wait_for_ready) ctx->set_wait_for_ready(true);
  channels_->Start(
      ((*stub)->*prepare)(ctx.get(), request, channels_->queue()), ctx.get(),
      response,
      [ctx, task = task_, done = std::move(done)](const grpc::Status& s) {
        done(FromGrpc(s, absl::StrCat("task ", task)));
      });
}

using Stub = ::tensorflow::WorkerService::Stub;

void GrpcRemoteWorker::GetStatusAsync(
    const ::tensorflow::GetStatusRequest& request,
    ::tensorflow::GetStatusResponse* response, const WorkerCallOptions& options,
    Done done) {
  Start(&Stub::PrepareAsyncGetStatus, request, response, options,
        std::move(done));
}

void GrpcRemoteWorker::RegisterGraphAsync(
    const ::tensorflow::RegisterGraphRequest& request,
    ::tensorflow::RegisterGraphResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(&Stub::PrepareAsyncRegisterGraph, request, response, options,
        std::move(done));
}

void GrpcRemoteWorker::DeregisterGraphAsync(
    const ::tensorflow::DeregisterGraphRequest& request,
    ::tensorflow::DeregisterGraphResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(&Stub::PrepareAsyncDeregisterGraph, request, response, options,
        std::move(done));
}

void GrpcRemoteWorker::RunGraphAsync(
    const ::tensorflow::RunGraphRequest& request,
    ::tensorflow::RunGraphResponse* response, const WorkerCallOptions& options,
    Done done) {
  Start(&Stub::PrepareAsyncRunGraph, request, response, options,
        std::move(done));
}

void GrpcRemoteWorker::CleanupGraphAsync(
    const ::tensorflow::CleanupGraphRequest& request,
    ::tensorflow::CleanupGraphResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(&Stub::PrepareAsyncCleanupGraph, request, response, options,
        std::move(done));
}

void GrpcRemoteWorker::CleanupAllAsync(
    const ::tensorflow::CleanupAllRequest& request,
    ::tensorflow::CleanupAllResponse* response,
    const WorkerCallOptions& options, Done done) {
  Start(&Stub::PrepareAsyncCleanupAll, request, response, options,
        std::move(done));
}

GrpcWorkerCache::GrpcWorkerCache(std::string local_task, ::rill::Worker* local,
                                 WorkerChannels* channels)
    : local_task_(std::move(local_task)), local_(local), channels_(channels) {}

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
