#include "distributed/collective_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/platform/status_macros.h"

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

absl::Status ServeJoinGroup(CollectiveCoordinator* coordinator,
                            const JoinGroupRequest& request,
                            JoinGroupResponse* response) {
  GroupJoin join;
  join.group_key = request.group_key();
  join.group_size = request.group_size();
  join.device = request.device();
  join.min_generation = request.min_generation();
  ASSIGN_OR_RETURN(GroupState state, coordinator->JoinGroup(join));
  response->set_complete(state.complete);
  response->set_generation(state.generation);
  for (auto& m : state.members) response->add_members(std::move(m));
  return absl::OkStatus();
}

absl::Status ServeStoreSet(CollectiveCoordinator* coordinator,
                           const StoreSetRequest& request) {
  return coordinator->StoreSet(request.key(), request.value());
}

void ServeStoreGet(CollectiveCoordinator* coordinator,
                   const StoreGetRequest& request, StoreGetResponse* response) {
  std::optional<std::string> value = coordinator->StoreGet(request.key());
  response->set_found(value.has_value());
  if (value.has_value()) response->set_value(*std::move(value));
}

absl::Status WorkerCoordinatorClient::Check(absl::Status s,
                                            const char* method) const {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    return absl::UnavailableError(absl::StrCat("the collective coordinator ",
                                               task_, " did not answer ",
                                               method, ": ", s.message()));
  }
  return s;
}

absl::StatusOr<GroupState> WorkerCoordinatorClient::JoinGroup(
    const GroupJoin& join) {
  JoinGroupRequest request;
  request.set_group_key(join.group_key);
  request.set_group_size(join.group_size);
  request.set_device(join.device);
  request.set_min_generation(join.min_generation);
  JoinGroupResponse response;
  RETURN_IF_ERROR(
      Check(worker_->JoinGroup(request, &response, Options()), "JoinGroup"));
  GroupState state;
  state.complete = response.complete();
  state.generation = response.generation();
  state.members.assign(response.members().begin(), response.members().end());
  return state;
}

absl::Status WorkerCoordinatorClient::StoreSet(const std::string& key,
                                               const std::string& value) {
  StoreSetRequest request;
  request.set_key(key);
  request.set_value(value);
  StoreSetResponse response;
  return Check(worker_->StoreSet(request, &response, Options()), "StoreSet");
}

absl::StatusOr<std::optional<std::string>> WorkerCoordinatorClient::StoreGet(
    const std::string& key) {
  StoreGetRequest request;
  request.set_key(key);
  StoreGetResponse response;
  RETURN_IF_ERROR(
      Check(worker_->StoreGet(request, &response, Options()), "StoreGet"));
  if (!response.found()) return std::nullopt;
  return response.value();
}

}  // namespace rill
