// The rendezvous of one step on a worker: sends and receives among the
// task's own devices (and the client's feeds, which RunGraph puts there)
// meet in a LocalRendezvous; a receive of a tensor another task sends asks
// that task's WorkerInterface for it (RecvTensor), bounded by
// recv_timeout_ms and cancelled when the step aborts. The key
// says who sends (Rendezvous::ParseKey). Thread-safe; kept by shared_ptr
// (a call in flight holds the rendezvous).
#ifndef RILL_DISTRIBUTED_REMOTE_RENDEZVOUS_H_
#define RILL_DISTRIBUTED_REMOTE_RENDEZVOUS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/rendezvous.h"
#include "distributed/worker_interface.h"
#include "runtime/executor/executor.h"
#include "runtime/rendezvous/local_rendezvous.h"

namespace rill {

class StepRendezvous : public Rendezvous,
                       public std::enable_shared_from_this<StepRendezvous> {
 public:
  // `peers` outlives the rendezvous.
  StepRendezvous(int64_t step_id, std::string task_name,
                 WorkerCacheInterface* peers, int64_t recv_timeout_ms)
      : step_id_(step_id),
        task_name_(std::move(task_name)),
        peers_(peers),
        recv_timeout_ms_(recv_timeout_ms) {}

  absl::Status Send(const std::string& key, const Tensor& value,
                    bool is_dead) override {
    return local_.Send(key, value, is_dead);
  }

  // This task's sends (and the client's feeds) locally; another task's
  // from it.
  void RecvAsync(const std::string& key, DoneCallback done) override;

  void StartAbort(const absl::Status& status) override {
    local_.StartAbort(status);
    std::vector<std::shared_ptr<Call>> in_flight;
    {
      absl::MutexLock lock(&mu_);
      if (abort_.ok()) abort_ = status;
      for (const auto& [ptr, call] : calls_) in_flight.push_back(call);
    }
    // Outside the lock: a cancelled call's callback may run inline.
    for (const auto& call : in_flight) call->canceller.Cancel();
  }

  // Stops the step's nodes and wakes its receives, here and in flight.
  void Fail(const absl::Status& why) {
    cancellation_.Cancel(why);
    StartAbort(why);
  }

  // Receives only what this task sends (for a peer's RecvTensor).
  void RecvLocal(const std::string& key, DoneCallback done) {
    local_.RecvAsync(key, std::move(done));
  }
  StepCancellation* cancellation() { return &cancellation_; }

 private:
  struct Call {
    ::tensorflow::RecvTensorRequest request;
    RecvTensorReply reply;
    CallCanceller canceller;
  };

  void RecvRemote(WorkerInterface* peer, const std::string& task,
                  const std::string& key, DoneCallback done);

  const int64_t step_id_;
  const std::string task_name_;
  WorkerCacheInterface* const peers_;
  const int64_t recv_timeout_ms_;
  LocalRendezvous local_;
  StepCancellation cancellation_;
  absl::Mutex mu_;
  absl::Status abort_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Call*, std::shared_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_REMOTE_RENDEZVOUS_H_
