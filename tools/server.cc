// rill server --cluster JSON --job NAME --task I [--devices CPU=N]
//             [--max_message_bytes N] [--bind ADDR] [--file_root DIR]
//             [--memory_limit BYTES] [--max_sessions N]
//             [--session_gc_seconds S] [--auth_token_file F]
//             [--tls_cert F --tls_key F --tls_ca F]
// (or the TF_CONFIG environment variable): one task of a cluster, master
// and worker, until SIGTERM or SIGINT.
#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/platform/file_root.h"
#include "core/platform/status_macros.h"
#include "distributed/cluster.h"
#include "distributed/grpc_server.h"
#include "tools/commands.h"
#include "tools/flag_values.h"

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
  SecurityFlags security;
  std::string file_root = ".";
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
    } else if (flag == "--bind") {
      if (value.empty() || value.find('/') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--bind must be a host name or IP address, not '", value, "'"));
      }
      options.bind = value;
    } else if (flag == "--file_root") {
      file_root = value;
    } else if (flag == "--memory_limit") {
      RETURN_IF_ERROR(ApplyMemoryLimit(value));
    } else if (flag == "--max_sessions") {
      if (!absl::SimpleAtoi(value, &options.master.max_sessions) ||
          options.master.max_sessions < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--max_sessions must be a positive count, not '", value, "'"));
      }
    } else if (flag == "--session_gc_seconds") {
      if (!absl::SimpleAtoi(value, &options.master.session_gc_seconds) ||
          options.master.session_gc_seconds < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--session_gc_seconds must be seconds (0: never), not '", value,
            "'"));
      }
    } else if (security.Take(flag, value)) {
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", flag, "' for rill server"));
    }
  }
  ASSIGN_OR_RETURN(options.security, security.Apply());
  RETURN_IF_ERROR(SetFileRoot(file_root));
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
      << (options.num_cpu_devices > 1 ? "s" : "")
      << (options.security.tls() ? ", TLS" : "")
      << (options.security.auth_token.empty() ? "" : ", auth token")
      << "; files under " << FileRoot() << ")" << std::endl;
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
