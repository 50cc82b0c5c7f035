#include "runtime/collective/coordinator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill {

std::string GroupStorePrefix(int32_t group_key, int64_t generation) {
  return absl::StrCat("g", group_key, "/", generation, "/");
}

absl::StatusOr<GroupState> CollectiveCoordinator::JoinGroup(
    const GroupJoin& join) {
  if (join.group_size < 1 || join.group_size > kMaxGroupSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("group ", join.group_key, ": group_size ", join.group_size,
                     " is not in [1, ", kMaxGroupSize, "]"));
  }
  if (join.device.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("group ", join.group_key, ": a member has no device"));
  }
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(join.group_key);
  if (it == groups_.end()) {
    if (groups_.size() >= kMaxGroups) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the coordinator holds ", kMaxGroups, " groups"));
    }
    it = groups_.try_emplace(join.group_key).first;
  }
  Group& g = it->second;
  if (g.generation < join.min_generation) {
    // A new group, or the survivors of a broken one starting afresh.
    DropStoreKeys(join.group_key, g.generation);
    g = Group();
    g.generation = std::max<int64_t>(join.min_generation, 1);
  }
  if (!g.failed.ok()) return g.failed;
  if (g.members.empty()) {
    g.size = join.group_size;
    g.first_device = join.device;
  } else if (g.size != join.group_size) {
    g.failed = absl::FailedPreconditionError(absl::StrCat(
        "collective group ", join.group_key,
        ": members disagree on its size: ", g.first_device, " says group_size ",
        g.size, ", ", join.device, " says ", join.group_size));
    return g.failed;
  }
  if (!g.members.contains(join.device)) {
    if (static_cast<int>(g.members.size()) == g.size) {
      return absl::FailedPreconditionError(
          absl::StrCat("collective group ", join.group_key, " already has its ",
                       g.size, " members (", absl::StrJoin(g.members, ", "),
                       "); ", join.device, " is not one of them"));
    }
    g.members.insert(join.device);
  }
  GroupState state;
  state.generation = g.generation;
  state.complete = static_cast<int>(g.members.size()) == g.size;
  state.members.assign(g.members.begin(), g.members.end());
  return state;
}

void CollectiveCoordinator::DropStoreKeys(int32_t group_key,
                                          int64_t generation) {
  if (generation == 0) return;
  const std::string prefix = GroupStorePrefix(group_key, generation);
  for (auto it = store_.begin(); it != store_.end();) {
    if (absl::StartsWith(it->first, prefix)) {
      store_bytes_ -= it->first.size() + it->second.size();
      store_.erase(it++);
    } else {
      ++it;
    }
  }
}

absl::Status CollectiveCoordinator::StoreSet(const std::string& key,
                                             const std::string& value) {
  absl::MutexLock lock(&mu_);
  auto it = store_.find(key);
  size_t bytes = store_bytes_ + key.size() + value.size();
  if (it != store_.end()) bytes -= it->first.size() + it->second.size();
  if (bytes > kMaxStoreBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the collective store would hold more than ",
                     kMaxStoreBytes, " bytes (key '", key, "')"));
  }
  store_bytes_ = bytes;
  store_[key] = value;
  return absl::OkStatus();
}

std::optional<std::string> CollectiveCoordinator::StoreGet(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = store_.find(key);
  if (it == store_.end()) return std::nullopt;
  return it->second;
}

}  // namespace rill
