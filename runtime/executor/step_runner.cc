#include "runtime/executor/step_runner.h"

#include "absl/strings/str_cat.h"
#include "core/platform/deadline_timer.h"
#include "oneapi/tbb/task_group.h"

namespace rill {
namespace {

// The executor arguments of a step (stats aside: one list per executor).
Executor::Args StepArgs(const StepRun& run,
                        const StepCancellation* cancellation, Runner runner) {
  Executor::Args args;
  args.step_id = run.step_id;
  args.call_frame = run.call_frame;
  args.rendezvous = run.rendezvous;
  args.collectives = run.collectives;
  args.cancellation = cancellation;
  args.runner = std::move(runner);
  return args;
}

}  // namespace

absl::Status RunExecutors(oneapi::tbb::task_arena* arena,
                          const std::vector<const Executor*>& executors,
                          const StepRun& run) {
  oneapi::tbb::task_group group;
  StepCancellation own_cancellation;
  StepCancellation* cancellation =
      run.cancellation != nullptr ? run.cancellation : &own_cancellation;
  Executor::Args args =
      StepArgs(run, cancellation, [arena, &group](std::function<void()> fn) {
        arena->execute([&] { group.run(std::move(fn)); });
      });
  absl::Mutex status_mu;
  absl::Status status;
  // Keeps group.wait() waiting until the last executor is done: a step
  // can end outside every task of the group (on this thread, when its nodes
  // ran inline, or on a gRPC thread that delivered a tensor). Released into
  // the arena, not into the releasing thread's own.
  oneapi::tbb::task_handle hold = group.defer([] {});
  int remaining = static_cast<int>(executors.size());
  auto release = [&] { arena->enqueue(std::move(hold)); };
  if (executors.empty()) release();
  for (size_t e = 0; e < executors.size(); ++e) {
    if (run.stats != nullptr) args.stats = &(*run.stats)[e];
    executors[e]->RunAsync(args, [&](absl::Status s) {
      if (!s.ok()) {
        // The others stop too: their receives wake, and their kernels that
        // wait on something else (collectives) are told.
        run.rendezvous->StartAbort(s);
        cancellation->Cancel(s);
      }
      bool last;
      {
        absl::MutexLock lock(&status_mu);
        // The first error is the cause; the others are its aborts.
        if (status.ok()) status = s;
        last = --remaining == 0;
      }
      if (last) release();
    });
  }
  // The process's one timer watches the deadline (the arena's threads are
  // all busy running the step).
  DeadlineTimer::Id deadline = 0;
  if (run.timeout_ms > 0) {
    deadline = DeadlineTimer::Global().Schedule(
        absl::Now() + absl::Milliseconds(run.timeout_ms), [&] {
          const absl::Status late = absl::DeadlineExceededError(
              absl::StrCat("the step did not finish within its timeout of ",
                           run.timeout_ms, " ms"));
          cancellation->Cancel(late);
          run.rendezvous->StartAbort(late);
        });
  }
  arena->execute([&] { group.wait(); });
  // After this the callback is not running and never will: what it uses
  // may go.
  if (deadline != 0) DeadlineTimer::Global().Cancel(deadline);
  if (!status.ok()) return status;
  // Cancelled from outside (the step is being torn down) even if every
  // node had finished: the caller asked for it to fail.
  if (run.cancellation != nullptr && run.cancellation->cancelled()) {
    return run.cancellation->status();
  }
  return absl::OkStatus();
}

void RunExecutorAsync(oneapi::tbb::task_arena* arena, const Executor* executor,
                      const StepRun& run,
                      std::function<void(absl::Status)> done) {
  Executor::Args args = StepArgs(
      run, run.cancellation,
      [arena](std::function<void()> fn) { arena->enqueue(std::move(fn)); });
  if (run.stats != nullptr) args.stats = &(*run.stats)[0];
  executor->RunAsync(
      args, [rendezvous = run.rendezvous, cancellation = run.cancellation,
             done = std::move(done)](absl::Status s) {
        if (!s.ok()) {
          rendezvous->StartAbort(s);
        } else if (cancellation != nullptr && cancellation->cancelled()) {
          s = cancellation->status();
        }
        done(s);
      });
}

}  // namespace rill
