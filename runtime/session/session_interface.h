// What every session offers, in-process (runtime/session/session.h) or
// through a cluster's master (distributed/grpc_session.h): TensorFlow's
// Session::Extend, Run and Close.
#ifndef RILL_RUNTIME_SESSION_SESSION_INTERFACE_H_
#define RILL_RUNTIME_SESSION_SESSION_INTERFACE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/framework/tensor.h"
#include "core/protos/graph.pb.h"
#include "runtime/executor/executor.h"

namespace rill {

// TensorFlow's RunOptions, the parts that apply in-process.
struct RunOptions {
  // A step still running after this long ends with DEADLINE_EXCEEDED (the
  // kernels already running finish first). 0: the session's default.
  int64_t timeout_in_ms = 0;
};

struct RunMetadata {
  std::vector<NodeExecStats> step_stats;
};

class SessionInterface {
 public:
  virtual ~SessionInterface() = default;

  // Adds nodes to the session's graph; the result must validate.
  virtual absl::Status Extend(::tensorflow::GraphDef more) = 0;
  // One step: the fetched tensors in the order asked. INVALID_ARGUMENT or
  // NOT_FOUND naming the feed, fetch or target that is wrong; the first
  // kernel error otherwise.
  virtual absl::StatusOr<std::vector<Tensor>> Run(
      const RunOptions& options,
      const std::vector<std::pair<std::string, Tensor>>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets,
      RunMetadata* metadata = nullptr) = 0;
  absl::StatusOr<std::vector<Tensor>> Run(
      const std::vector<std::pair<std::string, Tensor>>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets,
      RunMetadata* metadata = nullptr) {
    return Run(RunOptions(), feeds, fetches, targets, metadata);
  }
  virtual absl::Status Close() = 0;
};

}  // namespace rill

#endif  // RILL_RUNTIME_SESSION_SESSION_INTERFACE_H_
