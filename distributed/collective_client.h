// Collectives on a cluster: which task coordinates the cluster's groups,
// and a CoordinatorClient that reaches it over gRPC
// (/rill.CollectiveService/, served by every RillServer).
#ifndef RILL_DISTRIBUTED_COLLECTIVE_CLIENT_H_
#define RILL_DISTRIBUTED_COLLECTIVE_CLIENT_H_

#include <memory>
#include <string>
#include <utility>

#include "distributed/cluster.h"
#include "distributed/protos/collective_service.grpc.pb.h"
#include "runtime/collective/coordinator.h"

namespace rill {

// The task (job, index) whose coordinator every member of the cluster uses:
// the chief (/job:chief/task:0) when there is one, else /job:worker/task:0,
// else the first task of the first job by name (TensorFlow's default
// collective group leader).
std::pair<std::string, int> CoordinatorTask(const ClusterSpec& cluster);

// Blocking calls, each bounded by `rpc_timeout`; a task that does not answer
// is UNAVAILABLE naming it. Thread-safe.
class GrpcCoordinatorClient : public CoordinatorClient {
 public:
  // NOT_FOUND when /job:<job>/task:<task> is not in the cluster.
  static absl::StatusOr<std::unique_ptr<GrpcCoordinatorClient>> Create(
      const ClusterSpec& cluster, const std::string& job, int task,
      absl::Duration rpc_timeout = absl::Seconds(10));

  absl::StatusOr<GroupState> JoinGroup(const GroupJoin& join) override;
  absl::Status StoreSet(const std::string& key,
                        const std::string& value) override;
  absl::StatusOr<std::optional<std::string>> StoreGet(
      const std::string& key) override;

 private:
  GrpcCoordinatorClient(std::string task,
                        std::unique_ptr<CollectiveService::Stub> stub,
                        absl::Duration rpc_timeout)
      : task_(std::move(task)),
        stub_(std::move(stub)),
        rpc_timeout_(rpc_timeout) {}
  void Prepare(grpc::ClientContext* ctx) const;
  absl::Status Check(const grpc::Status& s, const char* method) const;

  const std::string task_;
  std::unique_ptr<CollectiveService::Stub> stub_;
  const absl::Duration rpc_timeout_;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_COLLECTIVE_CLIENT_H_
