// One thread that runs callbacks at their deadlines, for every timed step
// of the process (instead of a watchdog thread per step).
//
//   DeadlineTimer::Id id = DeadlineTimer::Global().Schedule(
//       absl::Now() + absl::Seconds(5), [&] { cancellation.Cancel(...); });
//   ... the step ends ...
//   DeadlineTimer::Global().Cancel(id);  // After this, the callback is not
//                                        // running and never will.
//
// Callbacks run one at a time on the timer's thread, so they must be quick
// and must not block (cancel something, notify someone). Thread-safe.
#ifndef RILL_CORE_PLATFORM_DEADLINE_TIMER_H_
#define RILL_CORE_PLATFORM_DEADLINE_TIMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rill {

class DeadlineTimer {
 public:
  using Id = uint64_t;

  // The process's timer (made on first use, never destroyed).
  static DeadlineTimer& Global();

  DeadlineTimer();
  // Drops the callbacks not yet run, and joins the thread.
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs `fn` on the timer's thread at `when` (at once if past).
  Id Schedule(absl::Time when, std::function<void()> fn);
  // True when `fn` had not run and now never will; false when it has run,
  // after waiting for it to return if it was running. Not from inside a
  // callback of this timer.
  bool Cancel(Id id);

 private:
  void Loop();

  absl::Mutex mu_;
  // By deadline, then by id (the order they were scheduled).
  std::map<std::pair<absl::Time, Id>, std::function<void()>> queue_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Id, absl::Time> pending_ ABSL_GUARDED_BY(mu_);
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  Id running_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped whenever the queue's front may have changed.
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace rill

#endif  // RILL_CORE_PLATFORM_DEADLINE_TIMER_H_
