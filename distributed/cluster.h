// The cluster a server belongs to, from TensorFlow's cluster JSON
// ({"ps": ["localhost:2222"], "worker": ["localhost:2223", ...]}, a job's
// tasks also as {"0": "host:port", ...}) or from TF_CONFIG
// ({"cluster": {...}, "task": {"type": "worker", "index": 0}}).
#ifndef RILL_DISTRIBUTED_CLUSTER_H_
#define RILL_DISTRIBUTED_CLUSTER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "distributed/protos/cluster.pb.h"

namespace rill {

class ClusterSpec {
 public:
  // INVALID_ARGUMENT saying what is wrong: malformed JSON, an empty job, a
  // task address that is not host:port, an address listed twice.
  static absl::StatusOr<ClusterSpec> FromJson(absl::string_view json);
  static absl::StatusOr<ClusterSpec> FromProto(
      const ::tensorflow::ClusterDef& def);

  // The address of /job:<job>/task:<task>; NOT_FOUND naming it otherwise.
  absl::StatusOr<std::string> Address(const std::string& job, int task) const;
  // "/job:<job>/replica:0/task:<task>" for every task, sorted.
  std::vector<std::string> TaskNames() const;
  const ::tensorflow::ClusterDef& def() const { return def_; }

 private:
  ::tensorflow::ClusterDef def_;
  // job -> task -> address.
  std::map<std::string, std::map<int, std::string>> tasks_;
};

// The task a server is, from TF_CONFIG's "task".
struct TaskConfig {
  ClusterSpec cluster;
  std::string job;
  int task = 0;
};
absl::StatusOr<TaskConfig> ParseTfConfig(absl::string_view tf_config);

// "/job:<job>/replica:0/task:<task>".
std::string TaskName(const std::string& job, int task);

// The port and the host of "host:port"; INVALID_ARGUMENT otherwise.
absl::StatusOr<int> PortOf(const std::string& address);
absl::StatusOr<std::string> HostOf(const std::string& address);

}  // namespace rill

#endif  // RILL_DISTRIBUTED_CLUSTER_H_
