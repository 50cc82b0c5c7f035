// LocalRendezvous: the in-process Rendezvous of one step, for transfers
// between devices of the same task. Thread-safe.
#ifndef RILL_RUNTIME_RENDEZVOUS_LOCAL_RENDEZVOUS_H_
#define RILL_RUNTIME_RENDEZVOUS_LOCAL_RENDEZVOUS_H_

#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/rendezvous.h"

namespace rill {

class LocalRendezvous : public Rendezvous {
 public:
  ~LocalRendezvous() override;

  absl::Status Send(const std::string& key, const Tensor& value,
                    bool is_dead = false) override;
  void RecvAsync(const std::string& key, DoneCallback done) override;
  void StartAbort(const absl::Status& status) override;

 private:
  struct Slot {
    bool has_value = false;
    bool is_dead = false;
    Tensor value;
    std::deque<DoneCallback> waiters;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Slot> table_ ABSL_GUARDED_BY(mu_);
  absl::Status abort_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_RUNTIME_RENDEZVOUS_LOCAL_RENDEZVOUS_H_
