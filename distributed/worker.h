// The worker of a task: runs the graph partitions a master registers, one
// step at a time, and serves the tensors its partitions send to other
// tasks (RecvTensor). Transport-free: the gRPC service (grpc_server.h) and
// the master of the same process both call it directly.
//
// Steps are keyed by the master's step id. Each step has a rendezvous on
// this worker, made by whichever comes first, RunGraph or a peer's
// RecvTensor; CleanupGraph ends it (aborting whatever still waits). A _Recv
// of a tensor sent by another task pulls it with RecvTensor from that task;
// transfers inside the task stay in-process.
#ifndef RILL_DISTRIBUTED_WORKER_H_
#define RILL_DISTRIBUTED_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "distributed/cluster.h"
#include "distributed/protos/worker.pb.h"
#include "distributed/worker_interface.h"
#include "oneapi/tbb/task_arena.h"
#include "runtime/device/device.h"
#include "runtime/executor/executor.h"

namespace rill {

class StepRendezvous;

struct WorkerOptions {
  // The longest a RecvTensor to another task may wait, in ms; 0: no limit
  // of its own. By default a RecvTensor lasts as long as its step (the
  // tensor may come after minutes of computing on the sender): a step past
  // its timeout cancels it, a peer that dies fails it at once (its
  // connection breaks), and one that hangs within about ten seconds (the
  // channel's keepalive pings go unanswered).
  int64_t recv_timeout_ms = 0;
  // A step this task has no RunGraph of in flight, and that nothing has
  // touched for this long, is abandoned (its master died before ending
  // it, or a peer asked for a tensor of a step that never ran here): it is
  // aborted and forgotten, so such steps cannot pile up.
  int64_t abandoned_step_ms = 600000;
  // Runs the partitions' collective kernels (not owned; may be null).
  CollectiveExecutor* collectives = nullptr;
};

class Worker {
 public:
  // `devices` are this task's, owned by the caller and outliving the
  // worker; the arena runs the partitions; `peers` (outliving the worker
  // too) reaches the other tasks for the tensors they send.
  Worker(std::string task_name, std::vector<Device*> devices,
         oneapi::tbb::task_arena* arena, WorkerCacheInterface* peers,
         WorkerOptions options = {});
  ~Worker();

  const std::string& task_name() const { return task_name_; }
  const std::vector<Device*>& devices() const { return devices_; }

  void GetStatus(::tensorflow::GetStatusResponse* response) const;
  absl::Status CreateWorkerSession(
      const ::tensorflow::CreateWorkerSessionRequest& request);
  absl::Status DeleteWorkerSession(
      const ::tensorflow::DeleteWorkerSessionRequest& request);
  // The partition's nodes must all be on one device of this task.
  absl::Status RegisterGraph(const ::tensorflow::RegisterGraphRequest& request,
                             ::tensorflow::RegisterGraphResponse* response);
  absl::Status DeregisterGraph(
      const ::tensorflow::DeregisterGraphRequest& request);
  // Runs one step of a registered partition; blocks until it ends (at
  // most timeout_ms when > 0).
  absl::Status RunGraph(const ::tensorflow::RunGraphRequest& request,
                        ::tensorflow::RunGraphResponse* response,
                        int64_t timeout_ms = 0);
  // The same without blocking: the partition's nodes run on the arena and
  // `done` runs once when the step has ended (possibly inline, for a
  // request that fails at once). `request` and `response` must outlive
  // it. A late step is ended with CancelStep.
  void RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                     ::tensorflow::RunGraphResponse* response,
                     std::function<void(absl::Status)> done);
  // Fails the step with `why` on this task: its running nodes stop and
  // its receives wake; it stays known until CleanupGraph.
  void CancelStep(int64_t step_id, const absl::Status& why);
  // Ends the step: aborts its rendezvous (waking any waiting receive) and
  // forgets it.
  absl::Status CleanupGraph(int64_t step_id);
  // Ends every step in flight (the server is stopping).
  void AbortAllSteps();
  // Drops the resources (variables) of the given containers on every
  // device of the task; the default container when the list is empty.
  absl::Status CleanupAll(const std::vector<std::string>& containers);
  // Waits (at most `timeout_ms`) until one of this task's partitions sends
  // the tensor of `request.rendezvous_key()` in the step. ABORTED when the
  // key names an old incarnation of the sending device.
  absl::Status RecvTensor(const ::tensorflow::RecvTensorRequest& request,
                          int64_t timeout_ms, Tensor* value, bool* is_dead);
  // The same without blocking: `done` runs once, inline when the tensor is
  // already there, else on the thread that sends it (or that aborts the
  // step). The caller bounds the wait (the RPC's deadline).
  void RecvTensorAsync(const ::tensorflow::RecvTensorRequest& request,
                       Rendezvous::DoneCallback done);
  // Steps this worker knows (begun and not yet ended or swept).
  size_t num_steps();

 private:
  struct Registered {
    std::string session;
    std::string device;  // Where the partition runs.
    std::unique_ptr<Executor> executor;
  };
  // The step's rendezvous, made on first use; `run` counts a RunGraph of
  // it in flight until StepRan. Sweeps abandoned steps now and then.
  std::shared_ptr<StepRendezvous> StepFor(int64_t step_id, bool run = false);
  void StepRan(int64_t step_id);
  // The tensors request.recv_key() names, from the ended step.
  static absl::Status CollectFetches(
      const ::tensorflow::RunGraphRequest& request, StepRendezvous* step,
      ::tensorflow::RunGraphResponse* response);
  Device* LocalDevice(const std::string& name) const;

  const std::string task_name_;
  const std::vector<Device*> devices_;
  oneapi::tbb::task_arena* const arena_;
  WorkerCacheInterface* const peers_;
  const WorkerOptions options_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Registered>> graphs_
      ABSL_GUARDED_BY(mu_);
  struct StepEntry {
    std::shared_ptr<StepRendezvous> rendezvous;
    int running = 0;  // RunGraphs of the step in flight here.
    absl::Time last_active;
  };
  absl::flat_hash_map<int64_t, StepEntry> steps_ ABSL_GUARDED_BY(mu_);
  // Steps that ended here (CleanupGraph, or abandoned), the most recent
  // kEndedSteps: a RunGraph or RecvTensor of one that comes late (after
  // the master ended the step, on another connection) finds it aborted
  // instead of starting it again and waiting for a peer that never sends.
  static constexpr size_t kEndedSteps = 1 << 16;
  void NoteEnded(int64_t step_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::flat_hash_set<int64_t> ended_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> ended_order_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_);
  int runs_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_graph_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_WORKER_H_
