#include "tools/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/status_macros.h"
#include "tools/flag_values.h"

namespace rill::tools {
namespace {

// A free port, held: a socket bound to it (SO_REUSEADDR, not listening,
// closed on exec), so that no other process's port search picks it before
// the server binds it (a server may: gRPC sets SO_REUSEADDR too, and this
// socket does not listen). The caller closes *fd once the server listens.
// Without the hold, two commands starting clusters at once could give two
// servers one port, and one command's steps would reach the other's tasks.
absl::StatusOr<int> FreePort(int* held) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("socket: ", std::strerror(errno)));
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("no free loopback port: ", std::strerror(err)));
  }
  *held = fd;
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::string> SelfPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) {
    return absl::InternalError(
        absl::StrCat("cannot find the rill binary (/proc/self/exe): ",
                     std::strerror(errno)));
  }
  return std::string(buf, n);
}

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

enum class Probe { kAccepted, kRefused, kNoAnswer };

// One TCP connection attempt to "host:port".
Probe Connect(const std::string& address, int timeout_ms) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Probe::kRefused;
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(address.substr(0, colon).c_str(),
                  address.substr(colon + 1).c_str(), &hints, &found) != 0) {
    return Probe::kRefused;
  }
  Probe result = Probe::kRefused;
  for (addrinfo* a = found; a != nullptr && result != Probe::kAccepted;
       a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int err = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      result = Probe::kAccepted;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      socklen_t len = sizeof(err);
      if (poll(&p, 1, timeout_ms) != 1) {
        result = Probe::kNoAnswer;
      } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
                 err == 0) {
        result = Probe::kAccepted;
      } else if (err != ECONNREFUSED) {
        result = Probe::kNoAnswer;
      }
    } else if (errno != ECONNREFUSED) {
      result = Probe::kNoAnswer;
    }
    close(fd);
  }
  freeaddrinfo(found);
  return result;
}

// Waits for a child to exit; past `deadline` it is killed.
void Reap(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

bool Listening(const std::string& address, int timeout_ms) {
  return Connect(address, timeout_ms) == Probe::kAccepted;
}

bool Gone(const std::string& address, int within_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(within_ms);
  do {
    // Only a refusal: a task too busy to answer in time is not dead.
    if (Connect(address, 500) == Probe::kRefused) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::vector<bool> GoneEach(const std::vector<std::string>& addresses,
                           int within_ms) {
  std::vector<char> gone(addresses.size(), 0);
  std::vector<std::thread> probes;
  for (size_t i = 0; i < addresses.size(); ++i) {
    probes.emplace_back([&, i] { gone[i] = Gone(addresses[i], within_ms); });
  }
  for (std::thread& t : probes) t.join();
  return std::vector<bool>(gone.begin(), gone.end());
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    const std::map<std::string, int>& tasks) {
  ASSIGN_OR_RETURN(std::string self, SelfPath());
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  std::vector<std::string> jobs;
  std::vector<int> held_ports;  // Closed once every server listens.
  for (const auto& [job, count] : tasks) {
    if (count <= 0) continue;
    std::vector<std::string> quoted;
    for (int t = 0; t < count; ++t) {
      int fd = -1;
      absl::StatusOr<int> port = FreePort(&fd);
      if (!port.ok()) {
        for (int held : held_ports) close(held);
        return port.status();
      }
      held_ports.push_back(fd);
      cluster->addresses_[job].push_back(absl::StrCat("127.0.0.1:", *port));
      quoted.push_back(absl::StrCat("\"127.0.0.1:", *port, "\""));
    }
    jobs.push_back(
        absl::StrCat("\"", job, "\": [", absl::StrJoin(quoted, ", "), "]"));
  }
  cluster->json_ = absl::StrCat("{", absl::StrJoin(jobs, ", "), "}");
  cluster->self_ = self;
  {
    // The ports are held until every server listens on its own.
    auto release = absl::MakeCleanup([&held_ports] {
      for (int held : held_ports) close(held);
    });
    for (const auto& [job, addresses] : cluster->addresses_) {
      for (size_t t = 0; t < addresses.size(); ++t) {
        ASSIGN_OR_RETURN(pid_t pid, cluster->SpawnServer(job, t));
        cluster->pids_[{job, static_cast<int>(t)}] = pid;
      }
    }
    const auto started = cluster->pids_;  // WaitListening edits pids_.
    for (const auto& [task, pid] : started) {
      RETURN_IF_ERROR(cluster->WaitListening(
          task.first, task.second, cluster->Address(task.first, task.second),
          pid));
    }
  }
  return cluster;
}

absl::Status LocalCluster::WaitListening(const std::string& job, int task,
                                         const std::string& address,
                                         pid_t pid) {
  const std::string name = absl::StrCat("/job:", job, "/task:", task);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!Listening(address, 200)) {
    int wstatus = 0;
    if (waitpid(pid, &wstatus, WNOHANG) == pid) {
      pids_.erase({job, task});
      return absl::UnavailableError(absl::StrCat(
          "the rill server for ", name, " at ", address,
          " exited before serving (",
          WIFEXITED(wstatus) ? absl::StrCat("status ", WEXITSTATUS(wstatus))
                             : absl::StrCat("signal ", WTERMSIG(wstatus)),
          ")"));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError(absl::StrCat("the rill server for ", name,
                                                 " did not listen on ", address,
                                                 " within 60 s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::Restart(const std::string& job, int task) {
  const std::string address = Address(job, task);
  if (address.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no task /job:", job, "/task:", task));
  }
  auto it = pids_.find({job, task});
  if (it != pids_.end()) {
    // A process killed a moment ago may still be tearing down (its
    // listening socket already closed): not yet reaped is not running. A
    // process that lives on without listening is ended here.
    const pid_t old = it->second;
    if (waitpid(old, nullptr, WNOHANG) == 0 && Listening(address, 200)) {
      return absl::OkStatus();
    }
    Reap(old, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    pids_.erase(it);
  }
  ASSIGN_OR_RETURN(pid_t pid, SpawnServer(job, task));
  pids_[{job, task}] = pid;
  return WaitListening(job, task, address, pid);
}

absl::StatusOr<pid_t> LocalCluster::SpawnServer(const std::string& job,
                                                int task) const {
  std::vector<std::string> argv = {
      self_,   "server", "--cluster", json_,
      "--job", job,      "--task",    std::to_string(task)};
  for (std::string& flag : LocalServerArgs()) argv.push_back(flag);
  return Spawn(argv);
}

std::string LocalCluster::Address(const std::string& job, int task) const {
  auto it = addresses_.find(job);
  if (it == addresses_.end() || task < 0 ||
      task >= static_cast<int>(it->second.size())) {
    return "";
  }
  return it->second[task];
}

LocalCluster::~LocalCluster() {
  for (const auto& [task, pid] : pids_) kill(pid, SIGTERM);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const auto& [task, pid] : pids_) Reap(pid, deadline);
}

}  // namespace rill::tools
