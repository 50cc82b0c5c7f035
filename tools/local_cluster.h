// `rill server` processes on free loopback ports, started for one command
// (rill train --local-cluster) and stopped when it ends.
//
// Each server is this program (/proc/self/exe) run as
// `rill server --cluster JSON --job J --task I` (and LocalServerArgs():
// this process's security flags, rill train's file root); its stdout goes to
// /dev/null and its stderr is inherited. A server also gets SIGTERM when
// the process that started it dies (PR_SET_PDEATHSIG), so none outlives a
// killed command. Not thread-safe.
#ifndef RILL_TOOLS_LOCAL_CLUSTER_H_
#define RILL_TOOLS_LOCAL_CLUSTER_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rill::tools {

class LocalCluster {
 public:
  // Starts tasks[job] servers of each job and waits (up to 60 s) until each
  // accepts connections. UNAVAILABLE naming the task whose server exited or
  // never listened; the ones started are stopped again.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(
      const std::map<std::string, int>& tasks);
  // Stops every server: SIGTERM, then SIGKILL after 10 s.
  ~LocalCluster();

  // TensorFlow's cluster JSON of the servers.
  const std::string& json() const { return json_; }
  // "127.0.0.1:PORT" of a task; empty when there is none.
  std::string Address(const std::string& job, int task) const;
  // Starts a task's server again on its address when its process has
  // exited or no longer listens (one that lingers is killed), and waits (up
  // to 60 s) until it listens. OK when it still runs and listens;
  // UNAVAILABLE when it cannot be started.
  absl::Status Restart(const std::string& job, int task);

 private:
  LocalCluster() = default;
  // This program as `rill server` for the task, with LocalServerArgs().
  absl::StatusOr<pid_t> SpawnServer(const std::string& job, int task) const;
  absl::Status WaitListening(const std::string& job, int task,
                             const std::string& address, pid_t pid);

  std::string self_;
  std::string json_;
  std::map<std::string, std::vector<std::string>> addresses_;
  std::map<std::pair<std::string, int>, pid_t> pids_;
};

// Whether something accepts TCP connections at "host:port" within
// timeout_ms.
bool Listening(const std::string& address, int timeout_ms);
// Whether a task at `address` is gone: a connection refused at any of a
// few tries over `within_ms` (a connection that is not answered in time is
// a busy task, not a dead one). (A process being killed closes its
// connections before its listening socket: one probe right after a call to
// it failed can still connect.)
bool Gone(const std::string& address, int within_ms);
// The time a killed task may take to close its listening socket on a
// loaded machine: how long a failed step's tasks are probed.
inline constexpr int kGoneWithinMs = 2000;
// Gone for each address, probed at once.
std::vector<bool> GoneEach(const std::vector<std::string>& addresses,
                           int within_ms = kGoneWithinMs);

}  // namespace rill::tools

#endif  // RILL_TOOLS_LOCAL_CLUSTER_H_
