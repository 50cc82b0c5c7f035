// The WorkerInterfaces of a cluster for a server's master: this task's own
// worker called in-process (requests and responses handed over as they
// are, no serialization), every other task's over gRPC (WorkerChannels).
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

namespace rill {

// The in-process worker: each call runs on the caller's thread (RunGraph
// blocks it until the step ends, within timeout_ms) and calls `done`
// before returning.
class LocalWorker : public WorkerInterface {
 public:
  explicit LocalWorker(Worker* worker) : worker_(worker) {}

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

 private:
  Worker* const worker_;
};

// A worker on another task, over the WorkerService's gRPC methods.
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

 private:
  // A WorkerService::Stub's PrepareAsync<Method>.
  template <typename Request, typename Response>
  using Prepare = std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
      ::tensorflow::WorkerService::Stub::*)(grpc::ClientContext*,
                                            const Request&,
                                            grpc::CompletionQueue*);
  // Starts the call on the task's channel with a context set from options.
  template <typename Request, typename Response>
  void Start(Prepare<Request, Response> prepare, const Request& request,
             Response* response, const WorkerCallOptions& options, Done done);

  const std::string task_;
  WorkerChannels* const channels_;
};

// LocalWorker for `local_task`, a GrpcRemoteWorker (made on first use) for
// every other task of the channels' cluster.
class GrpcWorkerCache : public WorkerCacheInterface {
 public:
  GrpcWorkerCache(std::string local_task, Worker* local,
                  WorkerChannels* channels);

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
