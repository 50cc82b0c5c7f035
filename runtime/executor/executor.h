// Executor: runs one graph on one device, step after step.
//
// Dataflow scheduling: each node has a count of pending inputs (data and
// control); a node whose count reaches zero is ready. Cheap kernels run
// inline on the thread that made them ready, expensive ones are handed to
// the runner (a oneTBB arena the session owns; the executor owns no
// threads). Nodes' runs are timed (in the first steps and one step in
// eight after): a node whose runs take only a few microseconds is cheap
// whatever its kernel says, and only such nodes run on a thread outside the
// runner (the caller starting a step, a gRPC thread delivering a received
// tensor), so a step of small nodes needs no hand-off between threads at all.
// Each output tensor is released when its last consumer has taken it, and the
// last consumer takes it by move, so a kernel can reuse the buffer
// (forward_input_or_allocate_output). The first error ends the step: no further
// nodes start, and Run returns that error once the nodes in flight have
// finished.
//
// Dead tensors (the hooks for TensorFlow's Switch/Merge control flow): an
// output a kernel marks dead makes its consumers dead; a dead node does not
// run and makes its outputs and control successors dead, except _Send and
// _Recv, which run to carry the deadness to the other device. Merge runs on
// its first live input and is dead only when every input is.
//
// TensorFlow 1 loops (Enter, Exit, NextIteration frames): a graph that has
// them runs each step on one thread, with per-(frame, iteration) state
// (LoopState in executor.cc); every other graph keeps the concurrent path.
//
// An Executor is immutable after Create and may run several steps at once.
#ifndef RILL_RUNTIME_EXECUTOR_EXECUTOR_H_
#define RILL_RUNTIME_EXECUTOR_EXECUTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/cancellation.h"
#include "core/framework/op_kernel.h"
#include "core/graph/graph.h"

namespace rill {

class Device;

// Per-node timings of one step, for run metadata and Chrome traces.
struct NodeExecStats {
  std::string node_name;
  std::string op;
  std::string device;    // The executor's device.
  int64_t start_us = 0;  // Since the epoch.
  int64_t end_us = 0;
  int thread_id = 0;
};

class Executor {
 public:
  struct Args {
    int64_t step_id = 0;
    CallFrame* call_frame = nullptr;
    // For _Send/_Recv; aborted with the step's first error, so no _Recv is
    // left waiting.
    Rendezvous* rendezvous = nullptr;
    // For collective kernels (optional); must outlive the step.
    CollectiveExecutor* collectives = nullptr;
    Runner runner;  // Required: where expensive nodes run.
    // When set, receives one entry per node run. Appends are serialized
    // within a step; give each concurrently running executor its own list.
    std::vector<NodeExecStats>* stats = nullptr;
    const StepCancellation* cancellation = nullptr;  // Optional.
  };

  // Makes a kernel for every node on `device`. NOT_FOUND naming the first
  // node that has no kernel there.
  // `function_depth` is how deeply function calls are nested where the
  // graph runs (0 for a step's graph; kernels that call functions pass
  // their own depth + 1).
  static absl::StatusOr<std::unique_ptr<Executor>> Create(
      std::unique_ptr<Graph> graph, Device* device, int function_depth = 0);
  ~Executor();

  // Runs one step and blocks until it ends.
  absl::Status Run(const Args& args) const;
  // Runs one step; `done` is called once, on some thread, when it ends.
  void RunAsync(const Args& args, std::function<void(absl::Status)> done) const;

  const Graph& graph() const { return *graph_; }

 private:
  friend class ExecutorState;
  friend class LoopState;
  struct NodeItem;
  struct StepBuffers;  // Per-step pending counts and input slots, reused.
  std::unique_ptr<StepBuffers> TakeBuffers() const;
  void ReturnBuffers(std::unique_ptr<StepBuffers> buffers) const;
  // Whether node `id`'s recent runs were cheap; RecordCost notes a run, in
  // the steps that TimeThisStep picks.
  bool ProvedCheap(int id) const;
  void RecordCost(int id, uint64_t cycles) const;
  bool TimeThisStep() const;
  Executor(std::unique_ptr<Graph> graph, Device* device);

  struct Target {
    int slot;  // Step-wide input slot; -1 for a control edge.
    int dst;   // Consumer node id.
  };

  std::unique_ptr<Graph> graph_;
  Device* device_;
  std::vector<std::unique_ptr<OpKernel>> kernels_;
  std::vector<NodeItem> items_;  // By node id.
  // By node id: what its recent runs cost, in cycles (the maximum until
  // it first ran). Shared by concurrent steps.
  std::unique_ptr<std::atomic<uint32_t>[]> costs_;
  mutable std::atomic<uint64_t> steps_started_{0};
  std::vector<Target> targets_;
  std::vector<int> target_bounds_;
  std::vector<int> roots_;  // Nodes with no inputs.
  int num_input_slots_ = 0;
  int num_merges_ = 0;
  // Whether a step can see dead tensors (the graph has a Switch or _Recv);
  // other graphs skip clearing the deadness flags.
  bool may_be_dead_ = false;
  // TensorFlow 1 loops: per frame name (an Enter's frame_name), how many
  // Enter nodes feed it. Empty for graphs without loops, whose steps take
  // the concurrent path; with loops, a step runs in LoopState.
  std::vector<int> frame_enters_;
  mutable absl::Mutex pool_mu_;
  mutable std::vector<std::unique_ptr<StepBuffers>> pool_
      ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace rill

#endif  // RILL_RUNTIME_EXECUTOR_EXECUTOR_H_
