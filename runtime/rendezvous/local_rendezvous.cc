#include "runtime/rendezvous/local_rendezvous.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace rill {

LocalRendezvous::~LocalRendezvous() {
  StartAbort(absl::CancelledError("rendezvous destroyed"));
}

absl::Status LocalRendezvous::Send(const std::string& key, const Tensor& value,
                                   bool is_dead) {
  DoneCallback waiter;
  {
    absl::MutexLock lock(&mu_);
    if (!abort_.ok()) return abort_;
    Slot& slot = table_[key];
    if (slot.has_value) {
      return absl::AlreadyExistsError(
          absl::StrCat("'", key, "' was sent twice"));
    }
    if (slot.waiters.empty()) {
      slot.has_value = true;
      slot.is_dead = is_dead;
      slot.value = value;
      return absl::OkStatus();
    }
    waiter = std::move(slot.waiters.front());
    slot.waiters.pop_front();
    if (slot.waiters.empty()) table_.erase(key);
  }
  waiter(absl::OkStatus(), value,
         is_dead);  // Outside the lock: it may run kernels.
  return absl::OkStatus();
}

void LocalRendezvous::RecvAsync(const std::string& key, DoneCallback done) {
  Tensor value;
  bool is_dead = false;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (!abort_.ok()) {
      status = abort_;
    } else {
      Slot& slot = table_[key];
      if (!slot.has_value) {
        slot.waiters.push_back(std::move(done));
        return;
      }
      value = std::move(slot.value);
      is_dead = slot.is_dead;
      table_.erase(key);
    }
  }
  done(status, value, is_dead);
}

void LocalRendezvous::StartAbort(const absl::Status& status) {
  std::vector<DoneCallback> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (!abort_.ok()) return;
    abort_ = status.ok() ? absl::AbortedError("rendezvous aborted") : status;
    for (auto& [key, slot] : table_) {
      for (auto& w : slot.waiters) waiters.push_back(std::move(w));
    }
    table_.clear();
  }
  for (auto& w : waiters) w(status, Tensor(), false);
}

}  // namespace rill
