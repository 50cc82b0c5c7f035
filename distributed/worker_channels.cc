#include "distributed/worker_channels.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "distributed/transport_security.h"
#include "grpcpp/grpcpp.h"
#include "runtime/device/device_name.h"

namespace rill {

grpc::ChannelArguments RillChannelArguments(int max_message_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes);
  args.SetMaxSendMessageSize(max_message_bytes);
  // Large tensors: a deep flow-control window and large frames.
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, kMaxFrameBytes);
  // Pings while calls are in flight, however long no data moves (a step
  // computing for minutes sends none).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Reconnect quickly to a restarted task.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

void PendingCall::Run(bool) {
  {
    absl::MutexLock lock(&owner->pending_mu_);
    completing = true;  // Close() no longer touches its context.
  }
  Complete();
  WorkerChannels* channels = owner;
  {
    absl::MutexLock lock(&channels->pending_mu_);
    channels->pending_.erase(this);
  }
  delete this;
}

WorkerChannels::WorkerChannels(ClusterSpec cluster, int max_message_bytes,
                               grpc::CompletionQueue* queue)
    : queue_(queue),
      cluster_(std::move(cluster)),
      max_message_bytes_(max_message_bytes) {
  if (queue_ == nullptr) {
    own_queue_ = std::make_unique<grpc::CompletionQueue>();
    queue_ = own_queue_.get();
    poller_ = std::thread([q = queue_] {
      void* tag;
      bool ok;
      while (q->Next(&tag, &ok)) static_cast<QueueTag*>(tag)->Run(ok);
    });
  }
}

WorkerChannels::~WorkerChannels() {
  Close();
  if (own_queue_ != nullptr) {
    own_queue_->Shutdown();
    poller_.join();
  }
}

void WorkerChannels::Close() {
  absl::MutexLock lock(&pending_mu_);
  closed_ = true;
  for (PendingCall* call : pending_) {
    if (!call->completing) call->context->TryCancel();
  }
  // Their callbacks run on the queue's thread; wait for the last.
  pending_mu_.Await(absl::Condition(
      +[](absl::flat_hash_set<PendingCall*>* p) { return p->empty(); },
      &pending_));
}

bool WorkerChannels::Track(PendingCall* call) {
  absl::MutexLock lock(&pending_mu_);
  if (closed_) return false;
  pending_.insert(call);
  return true;
}

absl::StatusOr<WorkerChannels::Stubs*> WorkerChannels::Find(
    const std::string& task_name) {
  auto it = stubs_.find(task_name);
  if (it != stubs_.end()) return &it->second;
  ASSIGN_OR_RETURN(DeviceName name, DeviceName::Parse(task_name));
  if (!name.has_job || !name.has_task) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", task_name, "' does not name a task"));
  }
  ASSIGN_OR_RETURN(std::string address, cluster_.Address(name.job, name.task));
  auto channel =
      NewRillChannel(address, RillChannelArguments(max_message_bytes_));
  Stubs& stubs = stubs_[task_name];
  stubs.typed = ::tensorflow::WorkerService::NewStub(channel);
  stubs.raw = std::make_unique<grpc::GenericStub>(channel);
  stubs.collective = CollectiveService::NewStub(channel);
  return &stubs;
}

absl::StatusOr<::tensorflow::WorkerService::Stub*> WorkerChannels::Stub(
    const std::string& task_name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Stubs * stubs, Find(task_name));
  return stubs->typed.get();
}

absl::StatusOr<grpc::GenericStub*> WorkerChannels::RawStub(
    const std::string& task_name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Stubs * stubs, Find(task_name));
  return stubs->raw.get();
}

absl::StatusOr<CollectiveService::Stub*> WorkerChannels::CollectiveStub(
    const std::string& task_name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Stubs * stubs, Find(task_name));
  return stubs->collective.get();
}

}  // namespace rill
