// rill: the command-line program (SPEC 3).
//
//   rill inspect GRAPH | rill dot GRAPH | rill convert IN OUT | rill ops
//   rill run GRAPH ...  | rill server ... | rill health grpc://H:P
//
// Every error ends as one line on stderr, "rill: CODE: message", and a
// non-zero exit status.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"
#include "tools/commands.h"
#include "tools/tensor_text.h"

namespace rill::tools {
namespace {

constexpr char kUsage[] =
    "usage: rill COMMAND [ARGS]\n"
    "\n"
    "  inspect GRAPH      node count, op histogram, devices, and what fails "
    "validation\n"
    "  dot GRAPH          Graphviz text of the graph\n"
    "  convert IN OUT     between .pb (binary) and .pbtxt (text) GraphDefs\n"
    "  run GRAPH ...      run a graph in this process: --init NODE, --feed "
    "NAME=VALUE,\n"
    "                     --target NODE, --fetch NAME, --steps N, --every K,\n"
    "                     --devices CPU=N, --format text|json, --trace "
    "FILE.json,\n"
    "                     --logdir DIR (fetched summaries as TensorBoard "
    "events)\n"
    "                     --memory_limit BYTES (512M, 8G; default 4/5 of "
    "RAM),\n"
    "                     --summarize N (values shown from each end of a "
    "tensor\n"
    "                     over 1000 elements; -1: all),\n"
    "                     --master grpc://HOST:PORT (on a cluster) with\n"
    "                     --auth_token_file F, --tls_cert F --tls_key F "
    "--tls_ca F\n"
    "  server ...         serve a cluster task: --cluster JSON --job NAME "
    "--task I\n"
    "                     (or TF_CONFIG), --devices CPU=N, "
    "--max_message_bytes N,\n"
    "                     --bind ADDR (default: the task's host), "
    "--file_root DIR\n"
    "                     (default: the working directory), --memory_limit "
    "BYTES,\n"
    "                     --max_sessions N (1024), --session_gc_seconds S "
    "(0: never),\n"
    "                     --auth_token_file F, --tls_cert F --tls_key F "
    "--tls_ca F;\n"
    "                     stops on SIGTERM/SIGINT\n"
    "  health grpc://H:P  exit 0 when that server answers: --timeout S (5),\n"
    "                     --auth_token_file F, --tls_cert F --tls_key F "
    "--tls_ca F\n"
    "  ops                the registered ops as a text OpList\n"
    "  minimize GRAPH ... add gradients and an optimizer's updates: --loss "
    "NAME,\n"
    "                     --out OUT, --optimizer sgd|momentum|adam|adagrad, "
    "--lr X,\n"
    "                     --momentum M, --var NAME (all the loss's "
    "variables),\n"
    "                     --global_step NAME, --name NAME; prints JSON "
    "naming\n"
    "                     the train op and its initializers\n"
    "  train MODEL ...    train with a distributed scheme: --loss NAME,\n"
    "                     --data NAME=FILE.npy,\n"
    "                     --scheme allreduce|sync-ps|async-ps|ssp|local-sgd|"
    "average,\n"
    "                     --local-cluster ps=P,worker=W | --cluster JSON,\n"
    "                     --n-fetch F, --n-push P (async-ps), --staleness S "
    "(ssp),\n"
    "                     --replicas-to-aggregate N (sync-ps), --tau T "
    "(local-sgd),\n"
    "                     --optimizer sgd|momentum|adam|adagrad, --lr X,\n"
    "                     --batch B, --epochs E | --steps S, --eval "
    "NAME=FILE.npy,\n"
    "                     --metric NODE, --fusion-mb M, --seed N, --format "
    "text|json,\n"
    "                     --checkpoint-dir DIR (after every epoch), "
    "--resume,\n"
    "                     --logdir DIR (TensorBoard scalars per step),\n"
    "                     --auth_token_file F, --tls_cert F --tls_key F "
    "--tls_ca F\n"
    "  fit ALGORITHM ...  an exact algorithm, map-reduced over the workers\n"
    "                     (Chu et al.): kmeans|logreg|linreg|naive-bayes|pca,\n"
    "                     --data FILE.npy, --labels FILE.npy, --eval "
    "FILE.npy,\n"
    "                     --eval-labels FILE.npy, --local-cluster worker=W |\n"
    "                     --cluster JSON, --k K, --components C, --l2 X,\n"
    "                     --iterations N, --tolerance T, --seed N,\n"
    "                     --format text|json\n"
    "\n"
    "GRAPH is a TensorFlow GraphDef, binary .pb or text .pbtxt.\n";

// A command's own lines of kUsage (its first line and the indented ones
// after it); empty for a command that has none.
std::string CommandHelp(const std::string& command) {
  const std::vector<std::string> lines =
      absl::StrSplit(kUsage, '\n', absl::SkipEmpty());
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StartsWith(lines[i], absl::StrCat("  ", command, " "))) continue;
    absl::StrAppend(
        &out, "usage: rill ",
        absl::StripLeadingAsciiWhitespace(absl::string_view(lines[i])), "\n");
    for (size_t j = i + 1;
         j < lines.size() && absl::StartsWith(lines[j], "                   ");
         ++j) {
      absl::StrAppend(&out, lines[j], "\n");
    }
    break;
  }
  return out;
}

absl::Status Dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return absl::InvalidArgumentError(
        "missing command; run 'rill help' for the list");
  }
  const std::string& command = argv[0];
  const Args args(argv.begin() + 1, argv.end());
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return absl::OkStatus();
  }
  // `rill COMMAND --help`: that command's flags.
  for (const std::string& arg : args) {
    if (arg != "--help" && arg != "-h") continue;
    const std::string help = CommandHelp(command);
    if (help.empty()) break;  // An unknown command: said below.
    std::cout << help;
    return absl::OkStatus();
  }
  if (command == "inspect") return Inspect(args, std::cout);
  if (command == "dot") return Dot(args, std::cout);
  if (command == "convert") return Convert(args, std::cout);
  if (command == "run") return Run(args, std::cout);
  if (command == "server") return Server(args, std::cout);
  if (command == "health") return Health(args, std::cout);
  if (command == "ops") return Ops(args, std::cout);
  if (command == "train") return Train(args, std::cout);
  if (command == "minimize") return Minimize(args, std::cout);
  if (command == "fit") return Fit(args, std::cout);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown command '", command, "'; run 'rill help' for the list"));
}

// The message as one printable line: newlines become spaces, other
// control bytes and bytes that are not UTF-8 become \xNN.
std::string PrintableLine(absl::string_view message) {
  std::string out;
  for (size_t i = 0; i < message.size();) {
    const unsigned char c = message[i];
    // Also escaped: lead bytes no well-formed sequence starts with (an
    // overlong C0/C1, past U+10FFFF).
    const size_t len =
        c == 0xc0 || c == 0xc1 || c >= 0xf5 ? 0 : Utf8Length(message, i);
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
      ++i;
    } else if (len == 0 || c < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
      ++i;
    } else {
      out.append(message.data() + i, len);
      i += len;
    }
  }
  return out;
}

// Protocol Buffers reports a malformed message both as a failed parse,
// which Rill turns into its error line, and as its own log line: only the
// first is printed. Fatal ones still are.
void QuietProtobufLog(google::protobuf::LogLevel level, const char* filename,
                      int line, const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    std::fprintf(stderr, "rill: INTERNAL: protobuf %s:%d: %s\n", filename, line,
                 PrintableLine(message).c_str());
  }
}

// gRPC's own log lines (a port already in use, a peer that went away)
// repeat what the statuses say; GRPC_VERBOSITY, when set, lets them out.
void QuietGrpcLog(gpr_log_func_args*) {}

}  // namespace
}  // namespace rill::tools

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  google::protobuf::SetLogHandler(rill::tools::QuietProtobufLog);
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function(rill::tools::QuietGrpcLog);
  }
  // A server waits for its stop signal with sigwait: block it in every
  // thread, which all start after this.
  if (!args.empty() && args[0] == "server") rill::tools::BlockStopSignals();
  absl::Status s = rill::tools::Dispatch(args);
  std::cout.flush();
  if (!s.ok()) {
    std::fprintf(stderr, "rill: %s: %s\n",
                 absl::StatusCodeToString(s.code()).c_str(),
                 rill::tools::PrintableLine(s.message()).c_str());
    return 1;
  }
  return 0;
}
