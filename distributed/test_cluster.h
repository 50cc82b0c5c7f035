// An in-process cluster for tests: several RillServers in one process, each
// listening on a free loopback port, forming one cluster.
#ifndef RILL_DISTRIBUTED_TEST_CLUSTER_H_
#define RILL_DISTRIBUTED_TEST_CLUSTER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "distributed/grpc_server.h"

namespace rill {

// A TCP port nobody listens on now (bound to 0 and released).
absl::StatusOr<int> PickUnusedPort();

class TestCluster {
 public:
  // jobs: job name -> number of tasks. Every server is started.
  static absl::StatusOr<std::unique_ptr<TestCluster>> Start(
      const std::map<std::string, int>& jobs,
      const ServerOptions& options = {});

  // "grpc://localhost:<port>" of a task.
  std::string Target(const std::string& job, int task) const;
  RillServer* server(const std::string& job, int task);
  // Stops a task's server (as if its process died) and, with Restart,
  // starts a new one on the same port: new device incarnations, no graphs.
  void Stop(const std::string& job, int task);
  absl::Status Restart(const std::string& job, int task);
  const std::string& cluster_json() const { return json_; }

 private:
  std::string json_;
  ServerOptions options_;
  std::map<std::pair<std::string, int>, int> ports_;
  std::map<std::pair<std::string, int>, std::unique_ptr<RillServer>> servers_;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_TEST_CLUSTER_H_
