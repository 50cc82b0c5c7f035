#include "distributed/collective_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"
#include "distributed/worker_channels.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace rill {

std::pair<std::string, int> CoordinatorTask(const ClusterSpec& cluster) {
  for (const char* job : {"chief", "worker"}) {
    if (cluster.Address(job, 0).ok()) return {job, 0};
  }
  std::pair<std::string, int> first;
  bool found = false;
  for (const auto& job : cluster.def().job()) {
    for (const auto& [index, address] : job.tasks()) {
      std::pair<std::string, int> task(job.name(), index);
      if (!found || task < first) first = std::move(task);
      found = true;
    }
  }
  return first;
}

absl::StatusOr<std::unique_ptr<GrpcCoordinatorClient>>
GrpcCoordinatorClient::Create(const ClusterSpec& cluster,
                              const std::string& job, int task,
                              absl::Duration rpc_timeout) {
  ASSIGN_OR_RETURN(std::string address, cluster.Address(job, task));
  auto channel =
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                RillChannelArguments(kMaxMessageBytes));
  return std::unique_ptr<GrpcCoordinatorClient>(new GrpcCoordinatorClient(
      TaskName(job, task), CollectiveService::NewStub(channel), rpc_timeout));
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
