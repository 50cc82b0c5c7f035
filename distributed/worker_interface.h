// What a master asks of a task's worker, whether the worker is in this
// process or on another host: the seam between the master and the
// transport. Asynchronous; a WorkerCacheInterface hands out one per task.
//
//   ASSIGN_OR_RETURN(WorkerInterface* w,
//   cache->GetWorker("/job:ps/replica:0/task:0")); w->RunGraphAsync(request,
//   &response, {.timeout_ms = 1000},
//                    [](absl::Status s) { ... });
//
// Every method calls `done` exactly once, on any thread: for the worker of
// this process on the caller's thread before it returns (it runs the call
// there), for a remote one on the transport's thread when the reply comes.
// The request and the response must outlive `done`. Errors name the task.
// Besides the WorkerService's methods, a worker answers for the tensors
// its steps send (RecvTensor) and, on the cluster's coordinator task, for
// collective groups and their key-value store (CollectiveService).
// Implementations are thread-safe and hold none of their locks while
// `done` runs (a caller may make its next call from inside it).
#ifndef RILL_DISTRIBUTED_WORKER_INTERFACE_H_
#define RILL_DISTRIBUTED_WORKER_INTERFACE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/framework/tensor.h"
#include "distributed/protos/collective_service.pb.h"
#include "distributed/protos/worker.pb.h"

namespace rill {

// Ends a call in flight early: its `done` then runs with CANCELLED (unless
// its result came first). The caller makes it, passes it in the call's
// options and keeps it until `done` has run. Thread-safe.
class CallCanceller {
 public:
  // Idempotent; a call started after Cancel is cancelled at once.
  void Cancel() {
    std::function<void()> cancel;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return;
      cancelled_ = true;
      cancel = std::move(cancel_);
    }
    if (cancel) cancel();
  }
  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  // For implementations: `cancel` aborts the call; it runs once, on
  // Cancel, or here at once when Cancel came first.
  void OnCancel(std::function<void()> cancel) {
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        cancel_ = std::move(cancel);
        return;
      }
    }
    cancel();
  }

 private:
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> cancel_ ABSL_GUARDED_BY(mu_);
};

struct WorkerCallOptions {
  // 0: no deadline.
  int64_t timeout_ms = 0;
  // Wait (within the deadline) for a task that is still starting or was
  // just restarted, rather than fail on a connection's last failure.
  bool wait_for_ready = false;
  // Not owned; may be null.
  CallCanceller* canceller = nullptr;
};

// What RecvTensor brings back, decoded (for a remote task straight from
// the wire bytes, distributed/tensor_coding.h).
struct RecvTensorReply {
  Tensor tensor;
  bool is_dead = false;
};

class WorkerInterface {
 public:
  using Done = std::function<void(absl::Status)>;
  virtual ~WorkerInterface() = default;

  virtual void GetStatusAsync(const ::tensorflow::GetStatusRequest& request,
                              ::tensorflow::GetStatusResponse* response,
                              const WorkerCallOptions& options, Done done) = 0;
  virtual void RegisterGraphAsync(
      const ::tensorflow::RegisterGraphRequest& request,
      ::tensorflow::RegisterGraphResponse* response,
      const WorkerCallOptions& options, Done done) = 0;
  virtual void DeregisterGraphAsync(
      const ::tensorflow::DeregisterGraphRequest& request,
      ::tensorflow::DeregisterGraphResponse* response,
      const WorkerCallOptions& options, Done done) = 0;
  // Runs one step of a registered partition (timeout_ms bounds it).
  virtual void RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                             ::tensorflow::RunGraphResponse* response,
                             const WorkerCallOptions& options, Done done) = 0;
  // Ends the step on the task (a running one is aborted).
  virtual void CleanupGraphAsync(
      const ::tensorflow::CleanupGraphRequest& request,
      ::tensorflow::CleanupGraphResponse* response,
      const WorkerCallOptions& options, Done done) = 0;
  virtual void CleanupAllAsync(const ::tensorflow::CleanupAllRequest& request,
                               ::tensorflow::CleanupAllResponse* response,
                               const WorkerCallOptions& options, Done done) = 0;
  // The tensor a partition of the task sends in the request's step under
  // its rendezvous key, once it is sent (at most timeout_ms). ABORTED when
  // the key names an old incarnation of the sending device.
  virtual void RecvTensorAsync(const ::tensorflow::RecvTensorRequest& request,
                               RecvTensorReply* reply,
                               const WorkerCallOptions& options, Done done) = 0;

  // The coordinator's methods (runtime/collective/coordinator.h), served by
  // every task; only the coordinator task's hold the cluster's groups.
  virtual void JoinGroupAsync(const JoinGroupRequest& request,
                              JoinGroupResponse* response,
                              const WorkerCallOptions& options, Done done) = 0;
  virtual void StoreSetAsync(const StoreSetRequest& request,
                             StoreSetResponse* response,
                             const WorkerCallOptions& options, Done done) = 0;
  virtual void StoreGetAsync(const StoreGetRequest& request,
                             StoreGetResponse* response,
                             const WorkerCallOptions& options, Done done) = 0;

  // Blocking forms of the calls above.
  template <typename Request, typename Response, typename Method>
  absl::Status Call(Method method, const Request& request, Response* response,
                    const WorkerCallOptions& options) {
    absl::Notification finished;
    absl::Status status;
    (this->*method)(request, response, options, [&](absl::Status s) {
      status = std::move(s);
      finished.Notify();
    });
    finished.WaitForNotification();
    return status;
  }
  absl::Status GetStatus(const ::tensorflow::GetStatusRequest& request,
                         ::tensorflow::GetStatusResponse* response,
                         const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::GetStatusAsync, request, response, options);
  }
  absl::Status RegisterGraph(const ::tensorflow::RegisterGraphRequest& request,
                             ::tensorflow::RegisterGraphResponse* response,
                             const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::RegisterGraphAsync, request, response,
                options);
  }
  absl::Status DeregisterGraph(
      const ::tensorflow::DeregisterGraphRequest& request,
      ::tensorflow::DeregisterGraphResponse* response,
      const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::DeregisterGraphAsync, request, response,
                options);
  }
  absl::Status CleanupAll(const ::tensorflow::CleanupAllRequest& request,
                          ::tensorflow::CleanupAllResponse* response,
                          const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::CleanupAllAsync, request, response, options);
  }
  absl::Status JoinGroup(const JoinGroupRequest& request,
                         JoinGroupResponse* response,
                         const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::JoinGroupAsync, request, response, options);
  }
  absl::Status StoreSet(const StoreSetRequest& request,
                        StoreSetResponse* response,
                        const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::StoreSetAsync, request, response, options);
  }
  absl::Status StoreGet(const StoreGetRequest& request,
                        StoreGetResponse* response,
                        const WorkerCallOptions& options = {}) {
    return Call(&WorkerInterface::StoreGetAsync, request, response, options);
  }
};

class WorkerCacheInterface {
 public:
  virtual ~WorkerCacheInterface() = default;
  // Every task of the cluster ("/job:ps/replica:0/task:0"), sorted.
  virtual std::vector<std::string> Tasks() const = 0;
  // The worker of `task`, owned by the cache and valid while it lives;
  // NOT_FOUND for a task the cluster does not have.
  virtual absl::StatusOr<WorkerInterface*> GetWorker(
      const std::string& task) = 0;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_WORKER_INTERFACE_H_
