// gRPC channels to the other tasks of the cluster, made on first use and
// kept: WorkerService stubs by task name ("/job:ps/replica:0/task:0").
#ifndef RILL_DISTRIBUTED_WORKER_CHANNELS_H_
#define RILL_DISTRIBUTED_WORKER_CHANNELS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "distributed/cluster.h"
#include "distributed/protos/worker_service.grpc.pb.h"

namespace rill {

// The largest message a Rill channel or server accepts (a 256 MiB tensor
// and its envelope fit).
inline constexpr int kMaxMessageBytes = 1 << 30;

class WorkerChannels {
 public:
  explicit WorkerChannels(ClusterSpec cluster) : cluster_(std::move(cluster)) {}

  // NOT_FOUND when the cluster has no such task.
  absl::StatusOr<::tensorflow::WorkerService::Stub*> Stub(
      const std::string& task_name);
  const ClusterSpec& cluster() const { return cluster_; }

 private:
  const ClusterSpec cluster_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string,
                      std::unique_ptr<::tensorflow::WorkerService::Stub>>
      stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_WORKER_CHANNELS_H_
