// Runs one step of several executors (a session's partitions, or a
// worker's) on a oneTBB arena and waits for all of them: the first error
// is the step's, and it aborts the step's rendezvous so no partition waits
// forever; an optional timeout cancels the step from the process's
// DeadlineTimer (core/platform/deadline_timer.h).
// RunExecutorAsync runs one executor's step without blocking anyone.
#ifndef RILL_RUNTIME_EXECUTOR_STEP_RUNNER_H_
#define RILL_RUNTIME_EXECUTOR_STEP_RUNNER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "oneapi/tbb/task_arena.h"
#include "runtime/executor/executor.h"

namespace rill {

struct StepRun {
  int64_t step_id = 0;
  CallFrame* call_frame = nullptr;   // Optional: for _Arg/_Retval.
  Rendezvous* rendezvous = nullptr;  // Required.
  // For collective kernels (optional).
  CollectiveExecutor* collectives = nullptr;
  // A step still running after this long ends with DEADLINE_EXCEEDED;
  // 0: no timeout.
  int64_t timeout_ms = 0;
  // Optional, one list per executor.
  std::vector<std::vector<NodeExecStats>>* stats = nullptr;
  // Optional: cancels the step from outside (a worker's CleanupGraph).
  StepCancellation* cancellation = nullptr;
};

// Blocks the calling thread (not one of the arena's) until every executor
// has finished the step.
absl::Status RunExecutors(oneapi::tbb::task_arena* arena,
                          const std::vector<const Executor*>& executors,
                          const StepRun& run);

// Runs one executor's step without blocking: its nodes run as tasks
// enqueued on the arena (no thread of the caller's joins it), and `done`
// runs once when the step has ended, on the thread that finished it (an
// arena thread, or the one that completed its last async kernel). The
// first error aborts run.rendezvous. run.timeout_ms is not watched: the
// caller ends a late step through run.cancellation and the rendezvous, and
// both must outlive the step.
void RunExecutorAsync(oneapi::tbb::task_arena* arena, const Executor* executor,
                      const StepRun& run,
                      std::function<void(absl::Status)> done);

}  // namespace rill

#endif  // RILL_RUNTIME_EXECUTOR_STEP_RUNNER_H_
