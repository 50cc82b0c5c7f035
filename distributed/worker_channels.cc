#include "distributed/worker_channels.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "runtime/device/device_name.h"

namespace rill {

absl::StatusOr<::tensorflow::WorkerService::Stub*> WorkerChannels::Stub(
    const std::string& task_name) {
  absl::MutexLock lock(&mu_);
  auto it = stubs_.find(task_name);
  if (it != stubs_.end()) return it->second.get();
  ASSIGN_OR_RETURN(DeviceName name, DeviceName::Parse(task_name));
  if (!name.has_job || !name.has_task) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", task_name, "' does not name a task"));
  }
  ASSIGN_OR_RETURN(std::string address, cluster_.Address(name.job, name.task));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Reconnect quickly to a restarted task.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), args);
  auto stub = ::tensorflow::WorkerService::NewStub(channel);
  auto* raw = stub.get();
  stubs_.emplace(task_name, std::move(stub));
  return raw;
}

}  // namespace rill
