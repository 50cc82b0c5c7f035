#include "core/platform/deadline_timer.h"

namespace rill {

DeadlineTimer& DeadlineTimer::Global() {
  static DeadlineTimer* const timer = new DeadlineTimer();
  return *timer;
}

DeadlineTimer::DeadlineTimer() : thread_([this] { Loop(); }) {}

DeadlineTimer::~DeadlineTimer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ++version_;
  }
  thread_.join();
}

DeadlineTimer::Id DeadlineTimer::Schedule(absl::Time when,
                                          std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  const Id id = next_id_++;
  queue_.emplace(std::make_pair(when, id), std::move(fn));
  pending_[id] = when;
  ++version_;
  return id;
}

bool DeadlineTimer::Cancel(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(id);
  if (it != pending_.end()) {
    queue_.erase(std::make_pair(it->second, id));
    pending_.erase(it);
    ++version_;
    return true;
  }
  auto not_running = std::make_pair(this, id);
  mu_.Await(absl::Condition(
      +[](std::pair<DeadlineTimer*, Id>* arg) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return arg->first->running_ != arg->second;
      },
      &not_running));
  return false;
}

void DeadlineTimer::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    // Wait for the front's deadline, or for the queue to change.
    auto changed = std::make_pair(this, version_);
    const absl::Condition queue_changed(
        +[](std::pair<DeadlineTimer*, uint64_t>* arg)
             ABSL_NO_THREAD_SAFETY_ANALYSIS {
               return arg->first->version_ != arg->second;
             },
        &changed);
    if (queue_.empty()) {
      mu_.Await(queue_changed);
      continue;
    }
    auto front = queue_.begin();
    if (absl::Now() < front->first.first) {
      mu_.AwaitWithDeadline(queue_changed, front->first.first);
      continue;
    }
    const Id id = front->first.second;
    std::function<void()> fn = std::move(front->second);
    queue_.erase(front);
    pending_.erase(id);
    running_ = id;
    mu_.Unlock();
    fn();
    mu_.Lock();
    running_ = 0;
  }
}

}  // namespace rill
