#include "distributed/worker_channels.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
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
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                RillChannelArguments(max_message_bytes_));
  Stubs& stubs = stubs_[task_name];
  stubs.typed = ::tensorflow::WorkerService::NewStub(channel);
  stubs.raw = std::make_unique<grpc::GenericStub>(channel);
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

}  // namespace rill
