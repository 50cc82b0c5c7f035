// StepCancellation: stops a step from outside (a deadline passed, the client
// went away, another partition or task failed): no node starts after
// Cancel, and the step ends with the given status. Nodes already running
// finish; waiting _Recvs are woken by aborting the step's rendezvous, which
// the canceller does too; kernels that wait on something else (collectives)
// register a callback that stops their wait.
//
//   auto token = cancellation->AddCallback([&](const absl::Status& why) {
//     transport->Stop(why);  // Quick; never blocks.
//   });
//   ... when the wait ends, on another thread than the callback's:
//   cancellation->RemoveCallback(token);
//
// Thread-safe.
#ifndef RILL_CORE_FRAMEWORK_CANCELLATION_H_
#define RILL_CORE_FRAMEWORK_CANCELLATION_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace rill {

class StepCancellation {
 public:
  using Callback = std::function<void(const absl::Status&)>;
  using Token = uint64_t;

  // The first reason wins; runs the callbacks, on this thread.
  void Cancel(absl::Status why);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  absl::Status status() const;

  // Runs `fn` once when the step is cancelled: on the cancelling thread, or
  // here at once when it already is. Callbacks must be quick and must not
  // block; the returned token is for RemoveCallback.
  Token AddCallback(Callback fn) const;
  // After this returns, the callback is not running and never will. Not
  // from inside a callback.
  void RemoveCallback(Token token) const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<Token, Callback> callbacks_ ABSL_GUARDED_BY(mu_);
  mutable Token next_token_ ABSL_GUARDED_BY(mu_) = 1;
  // Set while Cancel runs the callbacks it took.
  mutable bool running_callbacks_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_CANCELLATION_H_
