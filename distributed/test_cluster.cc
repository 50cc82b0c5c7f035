#include "distributed/test_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/status_macros.h"

namespace rill {

absl::StatusOr<int> PickUnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::InternalError("cannot bind a free port");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

absl::StatusOr<std::unique_ptr<TestCluster>> TestCluster::Start(
    const std::map<std::string, int>& jobs, const ServerOptions& options) {
  std::unique_ptr<TestCluster> cluster(new TestCluster);
  std::vector<std::string> job_entries;
  for (const auto& [job, count] : jobs) {
    std::vector<std::string> addresses;
    for (int t = 0; t < count; ++t) {
      ASSIGN_OR_RETURN(int port, PickUnusedPort());
      cluster->ports_[{job, t}] = port;
      addresses.push_back(absl::StrCat("\"localhost:", port, "\""));
    }
    job_entries.push_back(
        absl::StrCat("\"", job, "\": [", absl::StrJoin(addresses, ", "), "]"));
  }
  cluster->json_ = absl::StrCat("{", absl::StrJoin(job_entries, ", "), "}");
  cluster->options_ = options;
  ASSIGN_OR_RETURN(ClusterSpec spec, ClusterSpec::FromJson(cluster->json_));
  for (const auto& [key, port] : cluster->ports_) {
    ASSIGN_OR_RETURN(std::unique_ptr<RillServer> server,
                     RillServer::Create(spec, key.first, key.second, options));
    RETURN_IF_ERROR(server->Start());
    cluster->servers_[key] = std::move(server);
  }
  return cluster;
}

std::string TestCluster::Target(const std::string& job, int task) const {
  return absl::StrCat("grpc://localhost:", ports_.at({job, task}));
}

RillServer* TestCluster::server(const std::string& job, int task) {
  return servers_.at({job, task}).get();
}

void TestCluster::Stop(const std::string& job, int task) {
  servers_.at({job, task}).reset();
}

absl::Status TestCluster::Restart(const std::string& job, int task) {
  Stop(job, task);
  ASSIGN_OR_RETURN(ClusterSpec spec, ClusterSpec::FromJson(json_));
  ASSIGN_OR_RETURN(std::unique_ptr<RillServer> server,
                   RillServer::Create(spec, job, task, options_));
  RETURN_IF_ERROR(server->Start());
  servers_[{job, task}] = std::move(server);
  return absl::OkStatus();
}

}  // namespace rill
