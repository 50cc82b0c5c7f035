// rill server --cluster JSON --job NAME --task I [--devices CPU=N]
//             [--max_message_bytes N]
// (or the TF_CONFIG environment variable): one task of a cluster, master
// and worker, until SIGTERM or SIGINT.
#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "distributed/cluster.h"
#include "distributed/grpc_server.h"
#include "tools/commands.h"

namespace rill::tools {

void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status Server(const Args& args, std::ostream& out) {
  std::string cluster_json, job;
  int task = -1;
  bool has_task = false;
  ServerOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag ", flag, " needs a value"));
    }
    const std::string& value = args[++i];
    if (flag == "--cluster") {
      cluster_json = value;
    } else if (flag == "--job") {
      job = value;
    } else if (flag == "--task") {
      if (!absl::SimpleAtoi(value, &task) || task < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--task must be a task index, not '", value, "'"));
      }
      has_task = true;
    } else if (flag == "--devices") {
      if (value.rfind("CPU=", 0) != 0 ||
          !absl::SimpleAtoi(value.substr(4), &options.num_cpu_devices) ||
          options.num_cpu_devices < 1 || options.num_cpu_devices > 64) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--devices must be CPU=N with N in 1..64, not '", value, "'"));
      }
    } else if (flag == "--max_message_bytes") {
      if (!absl::SimpleAtoi(value, &options.max_message_bytes) ||
          options.max_message_bytes < kMinMessageBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--max_message_bytes must be a byte count from ", kMinMessageBytes,
            " to 2147483647, not '", value, "'"));
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", flag, "' for rill server"));
    }
  }
  std::optional<ClusterSpec> cluster;
  if (!cluster_json.empty()) {
    if (job.empty() || !has_task) {
      return absl::InvalidArgumentError(
          "rill server --cluster needs --job and --task");
    }
    absl::StatusOr<ClusterSpec> spec = ClusterSpec::FromJson(cluster_json);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cluster: ", spec.status().message()));
    }
    cluster = *std::move(spec);
  } else if (const char* tf_config = std::getenv("TF_CONFIG")) {
    ASSIGN_OR_RETURN(TaskConfig config, ParseTfConfig(tf_config));
    cluster = std::move(config.cluster);
    job = config.job;
    task = config.task;
  } else {
    return absl::InvalidArgumentError(
        "rill server needs --cluster JSON --job NAME --task I, or TF_CONFIG");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<RillServer> server,
                   RillServer::Create(*cluster, job, task, options));
  RETURN_IF_ERROR(server->Start());
  ASSIGN_OR_RETURN(std::string address, cluster->Address(job, task));
  out << "rill server: " << server->task_name() << " serving on " << address
      << " (" << options.num_cpu_devices << " CPU device"
      << (options.num_cpu_devices > 1 ? "s" : "") << ")" << std::endl;
  // The stop signals were blocked before any thread started; wait for one.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal = 0;
  sigwait(&set, &signal);
  out << "rill server: " << server->task_name() << " stopping on "
      << (signal == SIGTERM ? "SIGTERM" : "SIGINT") << std::endl;
  server->Stop();
  return absl::OkStatus();
}

}  // namespace rill::tools
