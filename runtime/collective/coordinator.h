// Group formation for collectives: which devices make up a group, in what
// rank order, and a small key-value store through which the members find
// each other's transport addresses (Gloo's rendezvous).
//
// One CollectiveCoordinator serves a whole cluster (it lives in the
// coordinator task, see distributed/collective_service.h) or a single
// process. Members reach it through a CoordinatorClient: in-process
// (LocalCoordinatorClient) or over gRPC. Every call answers at once; a
// member waiting for the others polls, so no server thread ever waits.
//
// A group is (group_key, generation). Members join with their device's
// full name; ranks follow the sorted names, as TensorFlow orders a group.
// When a formed group breaks (a member died), the survivors join again
// asking for a newer generation, which starts the group afresh.
//
// Thread safety: every method of CollectiveCoordinator and of the clients
// may be called concurrently.
#ifndef RILL_RUNTIME_COLLECTIVE_COORDINATOR_H_
#define RILL_RUNTIME_COLLECTIVE_COORDINATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rill {

struct GroupJoin {
  int32_t group_key = 0;
  int32_t group_size = 0;
  std::string device;
  // The oldest generation the member accepts: one past a generation that
  // broke under it.
  int64_t min_generation = 1;
};

struct GroupState {
  bool complete = false;  // All group_size members have joined.
  int64_t generation = 0;
  std::vector<std::string> members;  // Sorted: index = rank.
};

class CoordinatorClient {
 public:
  virtual ~CoordinatorClient() = default;
  // Adds the device to the group (again: no change) and says how far the
  // group is. FAILED_PRECONDITION when members disagree on the group size
  // or the group is already full without this device.
  virtual absl::StatusOr<GroupState> JoinGroup(const GroupJoin& join) = 0;
  virtual absl::Status StoreSet(const std::string& key,
                                const std::string& value) = 0;
  // nullopt while the key is not set.
  virtual absl::StatusOr<std::optional<std::string>> StoreGet(
      const std::string& key) = 0;
};

class CollectiveCoordinator {
 public:
  // Bounds what members (remote peers) can make it hold.
  static constexpr int kMaxGroups = 1 << 16;
  static constexpr int kMaxGroupSize = 1 << 12;
  static constexpr size_t kMaxStoreBytes = size_t{64} << 20;

  absl::StatusOr<GroupState> JoinGroup(const GroupJoin& join);
  absl::Status StoreSet(const std::string& key, const std::string& value);
  std::optional<std::string> StoreGet(const std::string& key);

 private:
  struct Group {
    int32_t size = 0;
    int64_t generation = 0;
    // Who joined first with which size, for errors.
    std::string first_device;
    absl::btree_set<std::string> members;
    absl::Status failed;  // Set when members disagreed.
  };
  // Drops the store keys of an older generation of the group.
  void DropStoreKeys(int32_t group_key, int64_t generation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<int32_t, Group> groups_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> store_ ABSL_GUARDED_BY(mu_);
  size_t store_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// The store key prefix of a group's generation: "g<key>/<gen>/".
std::string GroupStorePrefix(int32_t group_key, int64_t generation);

// Calls a coordinator in the same process.
class LocalCoordinatorClient : public CoordinatorClient {
 public:
  explicit LocalCoordinatorClient(CollectiveCoordinator* coordinator)
      : coordinator_(coordinator) {}
  absl::StatusOr<GroupState> JoinGroup(const GroupJoin& join) override {
    return coordinator_->JoinGroup(join);
  }
  absl::Status StoreSet(const std::string& key,
                        const std::string& value) override {
    return coordinator_->StoreSet(key, value);
  }
  absl::StatusOr<std::optional<std::string>> StoreGet(
      const std::string& key) override {
    return coordinator_->StoreGet(key);
  }

 private:
  CollectiveCoordinator* const coordinator_;
};

}  // namespace rill

#endif  // RILL_RUNTIME_COLLECTIVE_COORDINATOR_H_
