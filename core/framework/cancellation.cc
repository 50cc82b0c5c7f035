#include "core/framework/cancellation.h"

#include <utility>
#include <vector>

namespace rill {

void StepCancellation::Cancel(absl::Status why) {
  absl::flat_hash_map<Token, Callback> callbacks;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    status_ =
        why.ok() ? absl::CancelledError("step cancelled") : std::move(why);
    cancelled_.store(true, std::memory_order_release);
    callbacks.swap(callbacks_);
    status = status_;
    running_callbacks_ = true;
  }
  for (auto& [token, fn] : callbacks) fn(status);
  absl::MutexLock lock(&mu_);
  running_callbacks_ = false;
}

absl::Status StepCancellation::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

StepCancellation::Token StepCancellation::AddCallback(Callback fn) const {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_.load(std::memory_order_relaxed)) {
      const Token token = next_token_++;
      callbacks_.emplace(token, std::move(fn));
      return token;
    }
    status = status_;
  }
  fn(status);
  return 0;
}

void StepCancellation::RemoveCallback(Token token) const {
  absl::MutexLock lock(&mu_);
  if (callbacks_.erase(token) > 0) return;
  // Taken by Cancel: wait until it has run.
  mu_.Await(absl::Condition(
      +[](bool* running) { return !*running; }, &running_callbacks_));
}

}  // namespace rill
