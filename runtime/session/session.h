// Session: runs a graph in this process, with TensorFlow's DirectSession
// semantics.
//
// Create (or Extend) hands it a GraphDef, validated on arrival. Each Run
// names feeds (any tensor "node:i", not only placeholders), fetches and
// target nodes; the session prunes the graph to what those need, replaces
// fed tensors by _Arg nodes and fetches by _Retval nodes, and caches the
// resulting executor under the sorted signature, so repeated steps pay
// nothing for setup. Variables and other resources live on the session's
// devices across runs. Run may be called from several threads at once.
//
// With several devices (SessionOptions::num_cpu_devices), the pruned graph
// is placed (runtime/placement/placer), partitioned per device with
// _Send/_Recv pairs, and each partition runs on its own executor; the
// step's LocalRendezvous carries tensors between them and is aborted by
// the first error, so no partition waits forever.
#ifndef RILL_RUNTIME_SESSION_SESSION_H_
#define RILL_RUNTIME_SESSION_SESSION_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/tensor.h"
#include "core/protos/graph.pb.h"
#include "oneapi/tbb/task_arena.h"
#include "runtime/collective/coordinator.h"
#include "runtime/collective/gloo_executor.h"
#include "runtime/device/device.h"
#include "runtime/executor/executor.h"
#include "runtime/session/session_interface.h"

namespace rill {

struct SessionOptions {
  // Threads for inter-op and intra-op work together; 0 means one per core.
  int num_threads = 0;
  // CPU devices to create ("--devices CPU=2"); they share one thread pool.
  int num_cpu_devices = 1;
  // Place nodes whose requested device lacks their kernels, or does not
  // exist in this process, on a device that has them.
  bool allow_soft_placement = true;
  // The timeout of a step whose RunOptions give none; 0: no timeout.
  int64_t operation_timeout_in_ms = 0;
};

class Session : public SessionInterface {
 public:
  using SessionInterface::Run;
  static absl::StatusOr<std::unique_ptr<Session>> Create(
      ::tensorflow::GraphDef graph, const SessionOptions& options = {});
  ~Session();

  // Adds nodes to the session's graph; the result must validate.
  absl::Status Extend(::tensorflow::GraphDef more) override;

  // One step. Returns the fetched tensors in the order asked (a tensor may
  // be fetched twice). INVALID_ARGUMENT or NOT_FOUND naming the feed, fetch
  // or target that is wrong; the first kernel error otherwise.
  absl::StatusOr<std::vector<Tensor>> Run(
      const RunOptions& options,
      const std::vector<std::pair<std::string, Tensor>>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets,
      RunMetadata* metadata = nullptr) override;

  absl::Status Close() override;

  const std::vector<std::unique_ptr<Device>>& devices() const {
    return devices_;
  }

 private:
  struct Step;  // A cached executor and how to call it.
  Session(std::vector<std::unique_ptr<Device>> devices,
          const SessionOptions& options);
  absl::StatusOr<std::shared_ptr<const Step>> GetStep(
      const std::vector<std::string>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets);
  absl::StatusOr<std::shared_ptr<const Step>> BuildStep(
      const std::vector<std::string>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  std::vector<std::unique_ptr<Device>> devices_;
  // Collectives among the session's own devices (--devices CPU=2): a
  // coordinator of its own, Gloo over loopback.
  CollectiveCoordinator coordinator_;
  LocalCoordinatorClient coordinator_client_{&coordinator_};
  GlooCollectiveExecutor collectives_{&coordinator_client_};
  const bool allow_soft_placement_;
  const int64_t default_timeout_ms_;
  std::unique_ptr<oneapi::tbb::task_arena> arena_;
  mutable absl::Mutex mu_;
  ::tensorflow::GraphDef graph_def_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Graph> graph_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const Step>> cache_
      ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> next_step_id_{1};
};

}  // namespace rill

#endif  // RILL_RUNTIME_SESSION_SESSION_H_
