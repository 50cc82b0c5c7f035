// One client's session on a master (master.h): its graph, the cluster's
// devices as it last found them, the plans of the steps it has run, and its
// callables. It runs its steps on the cluster through the master's
// WorkerCacheInterface.
//
// The first step with a given set of feeds, fetches and targets is planned
// once: the graph is pruned to what the step needs
// (runtime/session/step_graph), placed over every device of the cluster
// (the master's task first, so unpinned nodes stay there), partitioned per
// device with _Send/_Recv pairs stamped with the sending device's
// incarnation, feeds and fetches turned into client-terminated _Recv/_Send
// nodes, and each partition registered with its task's worker. Each step
// then runs every partition concurrently (RunGraph; the master's own task's
// on the calling thread), gathers the fetches, and ends the step on every
// task (CleanupGraph), on success and on failure. The first failure of a
// task ends the step on the others at once, so nothing waits on a dead
// task; one that looks like a dead or restarted task makes the next step
// find the devices again and plan anew.
//
// Thread-safe: steps of one session may run concurrently.
#ifndef RILL_DISTRIBUTED_MASTER_SESSION_H_
#define RILL_DISTRIBUTED_MASTER_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/graph/graph.h"
#include "distributed/protos/master.pb.h"
#include "distributed/worker_interface.h"
#include "runtime/device/device.h"
#include "runtime/placement/placer.h"

namespace rill {

// Given by a server with a step: registers what to run when the client
// cancels the call (or its deadline passes); at once if it already has.
// Null where the caller cannot cancel.
using OnClientCancel = std::function<void(std::function<void()>)>;

struct MasterOptions {
  // How long the master waits for a task to answer GetStatus when a
  // session starts (a task that does not answer is left out) and to
  // register a partition.
  int64_t connect_timeout_ms = 3000;
  // The limit of a tensor fed or fetched through the master.
  int64_t max_tensor_bytes = int64_t{1} << 30;
  // The most sessions open at once; CreateSession past it is
  // RESOURCE_EXHAUSTED.
  int max_sessions = 1024;
  // A session no call has used for this long (and none is using) is
  // closed; 0: never.
  int64_t session_gc_seconds = 0;
};

struct StepPlan;  // master_session.cc

class MasterSession : public std::enable_shared_from_this<MasterSession> {
 public:
  // A session of the request's graph and config, named `handle`; asks every
  // task for its devices. `workers` outlives the session.
  static absl::StatusOr<std::shared_ptr<MasterSession>> Create(
      std::string handle, const ::tensorflow::CreateSessionRequest& request,
      std::string task_name, WorkerCacheInterface* workers,
      const MasterOptions& options);

  const std::string& handle() const { return handle_; }

  absl::Status Extend(const ::tensorflow::ExtendSessionRequest& request,
                      ::tensorflow::ExtendSessionResponse* response);
  // Runs one step on every task it touches. After a successful step each
  // task is told to drop the step's state (CleanupGraph); with
  // `after_reply`, that is left there for the caller to run once it has
  // answered the client, off the client's path.
  // A step the client cancels, or one running when the session closes,
  // ends with CANCELLED on every task (kernels waiting on a queue or an
  // accumulator included).
  absl::Status RunStep(const ::tensorflow::RunStepRequest& request,
                       ::tensorflow::RunStepResponse* response,
                       std::function<void()>* after_reply = nullptr,
                       const OnClientCancel& on_cancel = nullptr);
  // Callables: a step's feeds, fetches and targets named once, then run by
  // handle (TensorFlow's Session::MakeCallable, which Keras uses).
  absl::Status MakeCallable(const ::tensorflow::MakeCallableRequest& request,
                            ::tensorflow::MakeCallableResponse* response);
  absl::Status RunCallable(const ::tensorflow::RunCallableRequest& request,
                           ::tensorflow::RunCallableResponse* response,
                           std::function<void()>* after_reply = nullptr,
                           const OnClientCancel& on_cancel = nullptr);
  absl::Status ReleaseCallable(
      const ::tensorflow::ReleaseCallableRequest& request);
  // Cancels the steps in flight and deregisters every partition the
  // session registered; later steps fail.
  void Close();

 private:
  MasterSession(std::string handle, std::string task_name,
                WorkerCacheInterface* workers, const MasterOptions& options);

  // Asks every task for its devices and incarnations; a task that does not
  // answer within the timeout is left out (a dead task must not stop
  // sessions that do not use it) and noted, so that a step that needs it
  // says which task is missing.
  absl::Status DiscoverDevices() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<const StepPlan>> PlanStep(
      const std::vector<std::string>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a step on every task of the plan, without waiting for the answers.
  void CleanupStep(const StepPlan& plan, int64_t step_id);
  // Ends step `step_id` if it is running; it returns `why`.
  void CancelStep(int64_t step_id, const absl::Status& why);

  const std::string handle_;
  const std::string task_name_;
  WorkerCacheInterface* const workers_;
  const MasterOptions options_;
  // From the session's ConfigProto.
  int64_t timeout_ms_ = 0;
  PlacerOptions placement_;

  absl::Mutex mu_;
  ::tensorflow::GraphDef def_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Graph> graph_ ABSL_GUARDED_BY(mu_);
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  // Stand-ins for every device of the cluster, the master's task's first:
  // the placer only asks them for names and kernels.
  std::vector<std::unique_ptr<Device>> devices_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> incarnations_ ABSL_GUARDED_BY(mu_);
  // Why each task that did not answer device discovery is missing.
  std::vector<std::string> unavailable_ ABSL_GUARDED_BY(mu_);
  // Set when a step failed in a way that may mean a task restarted or
  // died: the next step rediscovers the devices (and their incarnations)
  // and plans anew.
  bool stale_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<const StepPlan>> plans_
      ABSL_GUARDED_BY(mu_);
  // Every (task, graph handle) registered, to deregister on close.
  std::vector<std::pair<std::string, std::string>> registered_
      ABSL_GUARDED_BY(mu_);
  // MakeCallable's handles.
  absl::flat_hash_map<int64_t, ::tensorflow::CallableOptions> callables_
      ABSL_GUARDED_BY(mu_);
  int64_t next_callable_ ABSL_GUARDED_BY(mu_) = 0;
  // Step ids.
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  // The steps in flight, and why each was cancelled (OK while it was not).
  struct Running {
    std::shared_ptr<const StepPlan> plan;
    absl::Status cancelled;
  };
  absl::flat_hash_map<int64_t, Running> running_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_MASTER_SESSION_H_
