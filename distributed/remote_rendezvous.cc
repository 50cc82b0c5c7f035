#include "distributed/remote_rendezvous.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "distributed/grpc_util.h"
#include "distributed/protos/worker.pb.h"
#include "distributed/tensor_coding.h"
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
  if (!device.ok() || task == task_name_ || !channels_->Stub(task).ok()) {
    local_.RecvAsync(key, std::move(done));
    return;
  }
  RecvRemote(task, key, std::move(done));
}

void StepRendezvous::RecvRemote(const std::string& task, const std::string& key,
                                DoneCallback done) {
  auto stub = channels_->RawStub(task);
  auto call = std::make_shared<Call>();
  ::tensorflow::RecvTensorRequest request;
  request.set_step_id(step_id_);
  request.set_rendezvous_key(key);
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  call->request = grpc::ByteBuffer(&slice, 1);
  if (recv_timeout_ms_ > 0) {
    call->ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(recv_timeout_ms_));
  }
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
  channels_->Start(
      (*stub)->PrepareUnaryCall(&call->ctx,
                                "/tensorflow.WorkerService/RecvTensor",
                                call->request, channels_->queue()),
      &call->ctx, &call->response,
      [self, call, task, done = std::move(done)](const grpc::Status& s) {
        {
          absl::MutexLock lock(&self->mu_);
          self->calls_.erase(call.get());
        }
        if (!s.ok()) {
          absl::Status status =
              FromGrpc(s, absl::StrCat("task ", task, " (RecvTensor)"));
          // A peer that does not answer in time is as good as gone.
          if (absl::IsDeadlineExceeded(status)) {
            status = absl::UnavailableError(status.message());
          }
          done(status, Tensor(), false);
          return;
        }
        Tensor value;
        bool dead = false;
        absl::Status decoded = DecodeRecvTensorResponse(
            call->response, self->channels_->max_message_bytes(), &value,
            &dead);
        done(decoded, value, dead);
      });
}

}  // namespace rill
