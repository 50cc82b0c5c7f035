// The WorkerInterfaces of a cluster for a server's master, worker and
// collectives: this task's own worker called in-process (requests and
// responses handed over as they are, no serialization), every other
// task's over gRPC (WorkerChannels).
#ifndef RILL_DISTRIBUTED_WORKER_CACHE_H_
#define RILL_DISTRIBUTED_WORKER_CACHE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "distributed/worker.h"
#include "distributed/worker_channels.h"
#include "distributed/worker_interface.h"
#include "runtime/collective/coordinator.h"

namespace rill {

// The in-process worker: each call runs on the caller's thread (RunGraph
// and RecvTensor block it until the step ends or the tensor comes, within
// timeout_ms) and calls `done` before returning. The collective methods
// go to the task's coordinator.
class LocalWorker : public WorkerInterface {
 public:
  LocalWorker(Worker* worker, CollectiveCoordinator* coordinator)
      : worker_(worker), coordinator_(coordinator) {}

  void GetStatusAsync(const ::tensorflow::GetStatusRequest& request,
                      ::tensorflow::GetStatusResponse* response,
                      const WorkerCallOptions& options, Done done) override;
  void RegisterGraphAsync(const ::tensorflow::RegisterGraphRequest& request,
                          ::tensorflow::RegisterGraphResponse* response,
                          const WorkerCallOptions& options, Done done) override;
  void DeregisterGraphAsync(const ::tensorflow::DeregisterGraphRequest& request,
                            ::tensorflow::DeregisterGraphResponse* response,
                            const WorkerCallOptions& options,
                            Done done) override;
  void RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                     ::tensorflow::RunGraphResponse* response,
                     const WorkerCallOptions& options, Done done) override;
  void CleanupGraphAsync(const ::tensorflow::CleanupGraphRequest& request,
                         ::tensorflow::CleanupGraphResponse* response,
                         const WorkerCallOptions& options, Done done) override;
  void CleanupAllAsync(const ::tensorflow::CleanupAllRequest& request,
                       ::tensorflow::CleanupAllResponse* response,
                       const WorkerCallOptions& options, Done done) override;
  void RecvTensorAsync(const ::tensorflow::RecvTensorRequest& request,
                       RecvTensorReply* reply, const WorkerCallOptions& options,
                       Done done) override;
  void JoinGroupAsync(const JoinGroupRequest& request,
                      JoinGroupResponse* response,
                      const WorkerCallOptions& options, Done done) override;
  void StoreSetAsync(const StoreSetRequest& request, StoreSetResponse* response,
                     const WorkerCallOptions& options, Done done) override;
  void StoreGetAsync(const StoreGetRequest& request, StoreGetResponse* response,
                     const WorkerCallOptions& options, Done done) override;

 private:
  friend class GrpcWorkerCache;
  absl::Status NoCoordinator() const;
  Worker* worker_;
  CollectiveCoordinator* const coordinator_;
};

// A worker on another task, over the WorkerService's gRPC methods (and the
// CollectiveService's). RecvTensor's reply is decoded from the wire bytes.
class GrpcRemoteWorker : public WorkerInterface {
 public:
  GrpcRemoteWorker(std::string task, WorkerChannels* channels)
      : task_(std::move(task)), channels_(channels) {}

  void GetStatusAsync(const ::tensorflow::GetStatusRequest& request,
                      ::tensorflow::GetStatusResponse* response,
                      const WorkerCallOptions& options, Done done) override;
  void RegisterGraphAsync(const ::tensorflow::RegisterGraphRequest& request,
                          ::tensorflow::RegisterGraphResponse* response,
                          const WorkerCallOptions& options, Done done) override;
  void DeregisterGraphAsync(const ::tensorflow::DeregisterGraphRequest& request,
                            ::tensorflow::DeregisterGraphResponse* response,
                            const WorkerCallOptions& options,
                            Done done) override;
  void RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                     ::tensorflow::RunGraphResponse* response,
                     const WorkerCallOptions& options, Done done) override;
  void CleanupGraphAsync(const ::tensorflow::CleanupGraphRequest& request,
                         ::tensorflow::CleanupGraphResponse* response,
                         const WorkerCallOptions& options, Done done) override;
  void CleanupAllAsync(const ::tensorflow::CleanupAllRequest& request,
                       ::tensorflow::CleanupAllResponse* response,
                       const WorkerCallOptions& options, Done done) override;
  void RecvTensorAsync(const ::tensorflow::RecvTensorRequest& request,
                       RecvTensorReply* reply, const WorkerCallOptions& options,
                       Done done) override;
  void JoinGroupAsync(const JoinGroupRequest& request,
                      JoinGroupResponse* response,
                      const WorkerCallOptions& options, Done done) override;
  void StoreSetAsync(const StoreSetRequest& request, StoreSetResponse* response,
                     const WorkerCallOptions& options, Done done) override;
  void StoreGetAsync(const StoreGetRequest& request, StoreGetResponse* response,
                     const WorkerCallOptions& options, Done done) override;

 private:
  // A generated stub's PrepareAsync<Method>.
  template <typename Stub, typename Request, typename Response>
  using Prepare = std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
      Stub::*)(grpc::ClientContext*, const Request&, grpc::CompletionQueue*);
  // A call cancelled before it starts is not started: `done` gets
  // CANCELLED and this returns true.
  bool Cancelled(const WorkerCallOptions& options, Done* done) const;
  // A context for a call with `options` (its deadline, its canceller).
  static std::shared_ptr<grpc::ClientContext> Context(
      const WorkerCallOptions& options);
  // Starts the call on the task's channel. Errors name the task unless
  // `name_peer` is false (a coordinator's answers are about the group).
  template <typename Stub, typename Request, typename Response>
  void Start(absl::StatusOr<Stub*> stub,
             Prepare<Stub, Request, Response> prepare, const Request& request,
             Response* response, const WorkerCallOptions& options, Done done,
             bool name_peer = true);

  const std::string task_;
  WorkerChannels* const channels_;
};

// LocalWorker for `local_task`, a GrpcRemoteWorker (made on first use) for
// every other task of the channels' cluster. The local worker is bound
// after the cache is made (the worker calls other tasks through it), and
// before the first call to it.
class GrpcWorkerCache : public WorkerCacheInterface {
 public:
  GrpcWorkerCache(std::string local_task, WorkerChannels* channels,
                  CollectiveCoordinator* coordinator);
  void BindLocal(Worker* local) { local_.worker_ = local; }

  std::vector<std::string> Tasks() const override;
  absl::StatusOr<WorkerInterface*> GetWorker(const std::string& task) override;

 private:
  const std::string local_task_;
  LocalWorker local_;
  WorkerChannels* const channels_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<GrpcRemoteWorker>> remote_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_WORKER_CACHE_H_
