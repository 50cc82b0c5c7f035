#include "distributed/collective_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"
#include "distributed/worker_channels.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace rill {

std::string CoordinatorTask(const ClusterSpec& cluster) {
  const std::vector<std::string> tasks = cluster.TaskNames();
  for (const char* job : {"/job:chief/", "/job:worker/"}) {
    const std::string first = absl::StrCat(job, "replica:0/task:0");
    for (const std::string& t : tasks) {
      if (t == first) return t;
    }
  }
  return tasks.empty() ? "" : tasks.front();
}

absl::StatusOr<std::unique_ptr<GrpcCoordinatorClient>>
GrpcCoordinatorClient::Create(const ClusterSpec& cluster,
                              const std::string& task,
                              absl::Duration rpc_timeout) {
  // "/job:<job>/replica:0/task:<i>"
  const std::string prefix = "/job:";
  const size_t slash = task.find('/', prefix.size());
  const size_t colon = task.rfind(':');
  int index = 0;
  if (!absl::StartsWith(task, prefix) || slash == std::string::npos ||
      colon == std::string::npos ||
      !absl::SimpleAtoi(task.substr(colon + 1), &index)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", task, "' is not a task name"));
  }
  ASSIGN_OR_RETURN(
      std::string address,
      cluster.Address(task.substr(prefix.size(), slash - prefix.size()),
                      index));
  auto channel =
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                RillChannelArguments(kMaxMessageBytes));
  return std::unique_ptr<GrpcCoordinatorClient>(new GrpcCoordinatorClient(
      task, CollectiveService::NewStub(channel), rpc_timeout));
}

void GrpcCoordinatorClient::Prepare(grpc::ClientContext* ctx) const {
  ctx->set_deadline(DeadlineIn(absl::ToInt64Milliseconds(rpc_timeout_)));
}

absl::Status GrpcCoordinatorClient::Check(const grpc::Status& s,
                                          const char* method) const {
  if (s.ok()) return absl::OkStatus();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat("the collective coordinator ", task_, " did not answer ",
                     method, ": ", s.error_message()));
  }
  return FromGrpc(s, task_, /*name_peer=*/false);
}

absl::StatusOr<GroupState> GrpcCoordinatorClient::JoinGroup(
    const GroupJoin& join) {
  JoinGroupRequest request;
  request.set_group_key(join.group_key);
  request.set_group_size(join.group_size);
  request.set_device(join.device);
  request.set_min_generation(join.min_generation);
  JoinGroupResponse response;
  grpc::ClientContext ctx;
  Prepare(&ctx);
  RETURN_IF_ERROR(
      Check(stub_->JoinGroup(&ctx, request, &response), "JoinGroup"));
  GroupState state;
  state.complete = response.complete();
  state.generation = response.generation();
  state.members.assign(response.members().begin(), response.members().end());
  return state;
}

absl::Status GrpcCoordinatorClient::StoreSet(const std::string& key,
                                             const std::string& value) {
  StoreSetRequest request;
  request.set_key(key);
  request.set_value(value);
  StoreSetResponse response;
  grpc::ClientContext ctx;
  Prepare(&ctx);
  return Check(stub_->StoreSet(&ctx, request, &response), "StoreSet");
}

absl::StatusOr<std::optional<std::string>> GrpcCoordinatorClient::StoreGet(
    const std::string& key) {
  StoreGetRequest request;
  request.set_key(key);
  StoreGetResponse response;
  grpc::ClientContext ctx;
  Prepare(&ctx);
  RETURN_IF_ERROR(Check(stub_->StoreGet(&ctx, request, &response), "StoreGet"));
  if (!response.found()) return std::nullopt;
  return response.value();
}

}  // namespace rill
