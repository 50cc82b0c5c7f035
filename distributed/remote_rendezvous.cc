#include "distributed/remote_rendezvous.h"

#include "runtime/device/device_name.h"

namespace rill {

void StepRendezvous::RecvAsync(const std::string& key, DoneCallback done) {
  absl::StatusOr<ParsedKey> parts = ParseKey(key);
  if (!parts.ok()) {
    done(parts.status(), Tensor(), false);
    return;
  }
  absl::StatusOr<DeviceName> device = DeviceName::Parse(parts->send_device);
  const std::string task = device.ok() ? device->TaskName() : "";
  // This task's sends and the client's feeds (put here by RunGraph) are
  // local; another task's are pulled from it.
  absl::StatusOr<WorkerInterface*> peer =
      device.ok() && task != task_name_
          ? peers_->GetWorker(task)
          : absl::StatusOr<WorkerInterface*>(absl::NotFoundError(task));
  if (!peer.ok()) {
    local_.RecvAsync(key, std::move(done));
    return;
  }
  RecvRemote(*peer, task, key, std::move(done));
}

void StepRendezvous::RecvRemote(WorkerInterface* peer, const std::string& task,
                                const std::string& key, DoneCallback done) {
  auto call = std::make_shared<Call>();
  call->request.set_step_id(step_id_);
  call->request.set_rendezvous_key(key);
  absl::Status aborted;
  {
    absl::MutexLock lock(&mu_);
    aborted = abort_;
    if (aborted.ok()) calls_[call.get()] = call;
  }
  // Outside the lock: `done` may end the step, which aborts this
  // rendezvous and takes the lock again.
  if (!aborted.ok()) {
    done(aborted, Tensor(), false);
    return;
  }
  auto self = shared_from_this();
  peer->RecvTensorAsync(
      call->request, &call->reply,
      {.timeout_ms = recv_timeout_ms_, .canceller = &call->canceller},
      [self, call, done = std::move(done)](absl::Status status) {
        {
          absl::MutexLock lock(&self->mu_);
          self->calls_.erase(call.get());
        }
        // A peer that does not answer in time is as good as gone.
        if (absl::IsDeadlineExceeded(status)) {
          status = absl::UnavailableError(status.message());
        }
        done(status, call->reply.tensor, call->reply.is_dead);
      });
}

}  // namespace rill
