// Collectives on a cluster: which task coordinates the cluster's groups,
// the coordinator's methods on a task (CollectiveService, reached through
// WorkerInterface), and a CoordinatorClient that calls them on the
// coordinator task, in-process or over gRPC alike.
#ifndef RILL_DISTRIBUTED_COLLECTIVE_CLIENT_H_
#define RILL_DISTRIBUTED_COLLECTIVE_CLIENT_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "distributed/cluster.h"
#include "distributed/protos/collective_service.pb.h"
#include "distributed/worker_interface.h"
#include "runtime/collective/coordinator.h"

namespace rill {

// The task (job, index) whose coordinator every member of the cluster uses:
// the chief (/job:chief/task:0) when there is one, else /job:worker/task:0,
// else the first task of the first job by name (TensorFlow's default
// collective group leader).
std::pair<std::string, int> CoordinatorTask(const ClusterSpec& cluster);

// The CollectiveService's methods answered by a task's coordinator (for
// the gRPC service and the in-process worker alike).
absl::Status ServeJoinGroup(CollectiveCoordinator* coordinator,
                            const JoinGroupRequest& request,
                            JoinGroupResponse* response);
absl::Status ServeStoreSet(CollectiveCoordinator* coordinator,
                           const StoreSetRequest& request);
void ServeStoreGet(CollectiveCoordinator* coordinator,
                   const StoreGetRequest& request, StoreGetResponse* response);

// Calls the coordinator task's worker (from the server's worker cache,
// which outlives the client). Blocking, each call bounded by
// `rpc_timeout`; a coordinator that does not answer is UNAVAILABLE naming
// it. Thread-safe; never call it from the transport's own thread.
class WorkerCoordinatorClient : public CoordinatorClient {
 public:
  WorkerCoordinatorClient(std::string task, WorkerInterface* worker,
                          absl::Duration rpc_timeout = absl::Seconds(10))
      : task_(std::move(task)), worker_(worker), rpc_timeout_(rpc_timeout) {}

  absl::StatusOr<GroupState> JoinGroup(const GroupJoin& join) override;
  absl::Status StoreSet(const std::string& key,
                        const std::string& value) override;
  absl::StatusOr<std::optional<std::string>> StoreGet(
      const std::string& key) override;

 private:
  WorkerCallOptions Options() const {
    return {.timeout_ms = absl::ToInt64Milliseconds(rpc_timeout_)};
  }
  absl::Status Check(absl::Status s, const char* method) const;

  const std::string task_;
  WorkerInterface* const worker_;
  const absl::Duration rpc_timeout_;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_COLLECTIVE_CLIENT_H_
