// rill run: runs a GraphDef in this process (SPEC 3).
#include <fstream>
#include <iostream>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "core/protos/summary.pb.h"
#include "distributed/grpc_session.h"
#include "runtime/session/session.h"
#include "runtime/training/events_writer.h"
#include "tools/commands.h"
#include "tools/flag_values.h"
#include "tools/tensor_text.h"

namespace rill::tools {
namespace {

struct RunFlags {
  std::string graph;
  std::vector<std::string> init;
  std::vector<std::pair<std::string, std::string>> feeds;  // NAME, VALUE.
  std::vector<std::string> targets;
  std::vector<std::string> fetches;
  int64_t steps = 1;
  int64_t every = 0;
  std::string master;
  int cpu_devices = 1;
  bool json = false;
  std::string trace;
  std::string logdir;  // "" without --logdir.
  // Values printed from each end of a large tensor in text; -1: all.
  int64_t summarize = 3;
  SecurityFlags security;  // To reach a secured --master.
};

absl::Status FlagError(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why));
}

absl::StatusOr<RunFlags> ParseFlags(const Args& args) {
  RunFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      if (!f.graph.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unexpected argument '", arg, "' (the graph is '", f.graph, "')"));
      }
      f.graph = arg;
      continue;
    }
    std::string name = arg, value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) return FlagError(name, "needs a value");
      value = args[++i];
    }
    if (name == "--init") {
      f.init.push_back(value);
    } else if (name == "--feed") {
      const size_t sep = value.find('=');
      if (sep == std::string::npos || sep == 0) {
        return FlagError(
            "--feed", absl::StrCat("expected NAME=VALUE, got '", value, "'"));
      }
      f.feeds.emplace_back(value.substr(0, sep), value.substr(sep + 1));
    } else if (name == "--target") {
      f.targets.push_back(value);
    } else if (name == "--fetch") {
      f.fetches.push_back(value);
    } else if (name == "--steps") {
      if (!absl::SimpleAtoi(value, &f.steps) || f.steps < 1) {
        return FlagError(
            name,
            absl::StrCat("expected a positive integer, got '", value, "'"));
      }
    } else if (name == "--every") {
      if (!absl::SimpleAtoi(value, &f.every) || f.every < 1) {
        return FlagError(
            name,
            absl::StrCat("expected a positive integer, got '", value, "'"));
      }
    } else if (name == "--master") {
      f.master = value;
    } else if (name == "--devices") {
      if (!absl::StartsWith(value, "CPU=") ||
          !absl::SimpleAtoi(value.substr(4), &f.cpu_devices) ||
          f.cpu_devices < 1) {
        return FlagError(name,
                         absl::StrCat("expected CPU=N, got '", value, "'"));
      }
    } else if (name == "--format") {
      if (value != "text" && value != "json") {
        return FlagError(
            name, absl::StrCat("expected text or json, got '", value, "'"));
      }
      f.json = value == "json";
    } else if (name == "--trace") {
      f.trace = value;
    } else if (name == "--memory_limit") {
      RETURN_IF_ERROR(ApplyMemoryLimit(value));
    } else if (name == "--summarize") {
      if (!absl::SimpleAtoi(value, &f.summarize) || f.summarize < -1) {
        return FlagError(
            name, absl::StrCat("expected a count of values, or -1 for all; "
                               "got '",
                               value, "'"));
      }
    } else if (name == "--logdir") {
      if (value.empty()) return FlagError(name, "needs a directory");
      f.logdir = value;
    } else if (f.security.Take(name, value)) {
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", name, "'"));
    }
  }
  if (f.graph.empty())
    return absl::InvalidArgumentError("usage: rill run GRAPH [flags]");
  if (f.fetches.empty() && f.targets.empty() && f.init.empty()) {
    return absl::InvalidArgumentError(
        "nothing to run: give --fetch, --target or --init");
  }
  return f;
}

// The dtype a feed of `name` must have: the output's dtype in the graph.
absl::StatusOr<DataType> FeedType(const Graph& graph, const std::string& name) {
  absl::StatusOr<InputRef> ref = ParseInputRef(name);
  if (!ref.ok() || ref->index == kControlSlot) {
    return FlagError("--feed",
                     absl::StrCat("'", name, "' is not a tensor name"));
  }
  const Node* node = graph.FindNode(ref->node);
  if (node == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("--feed ", name, ": no node '", ref->node, "'"));
  }
  if (ref->index >= node->num_outputs()) {
    return FlagError("--feed", absl::StrCat("node '", ref->node, "' has ",
                                            node->num_outputs(), " outputs"));
  }
  return BaseType(node->output_type(ref->index));
}

absl::Status WriteTrace(const std::string& path, const RunMetadata& meta) {
  // One process per device (a cluster's steps span tasks), named by it.
  // (Node and device names need no JSON escapes: TensorFlow's name rules
  // leave out quotes and backslashes.)
  std::map<std::string, int> pids;
  for (const NodeExecStats& s : meta.step_stats) pids.emplace(s.device, 0);
  std::string json = "{\"traceEvents\": [";
  const char* sep = "\n";
  int next_pid = 0;
  for (auto& [device, pid] : pids) {
    pid = next_pid++;
    absl::StrAppend(&json, sep,
                    "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": ",
                    pid, ", \"args\": {\"name\": \"", device, "\"}}");
    sep = ",\n";
  }
  for (const NodeExecStats& s : meta.step_stats) {
    absl::StrAppend(&json, sep, "{\"name\": \"", s.node_name, "\", \"cat\": \"",
                    s.op, "\", \"ph\": \"X\", \"ts\": ", s.start_us,
                    ", \"dur\": ", std::max<int64_t>(s.end_us - s.start_us, 0),
                    ", \"pid\": ", pids[s.device], ", \"tid\": ", s.thread_id,
                    ", \"args\": {\"op\": \"", s.op, "\"}}");
    sep = ",\n";
  }
  json += "\n]}\n";
  std::ofstream out(path, std::ios::trunc);
  if (!out.is_open()) {
    return absl::PermissionDeniedError(
        absl::StrCat("--trace: cannot write '", path, "'"));
  }
  out << json;
  return out.good() ? absl::OkStatus()
                    : absl::DataLossError(
                          absl::StrCat("--trace: error writing '", path, "'"));
}

// The fetches that are summaries (made by a summary op, perhaps through
// Identity nodes): what --logdir writes.
absl::StatusOr<std::vector<size_t>> SummaryFetches(
    const Graph& graph, const std::vector<std::string>& fetches) {
  static const absl::flat_hash_set<std::string>* kSummaryOps =
      new absl::flat_hash_set<std::string>{
          "ScalarSummary", "HistogramSummary", "MergeSummary",
          "TensorSummary", "TensorSummaryV2",  "ImageSummary",
          "AudioSummaryV2"};
  std::vector<size_t> out;
  for (size_t i = 0; i < fetches.size(); ++i) {
    absl::StatusOr<InputRef> ref = ParseInputRef(fetches[i]);
    if (!ref.ok()) continue;
    const Node* node = graph.FindNode(ref->node);
    // Follow Identity nodes to the op that made the value (bounded: a
    // graph's Identity chain cannot be longer than the graph).
    for (int hops = 0; node != nullptr && node->op() == "Identity" &&
                       hops < graph.num_nodes();
         ++hops) {
      const Edge* in = node->num_inputs() > 0 ? node->input_edge(0) : nullptr;
      node = in != nullptr ? in->src : nullptr;
    }
    if (node != nullptr && kSummaryOps->contains(node->op())) out.push_back(i);
  }
  if (out.empty()) {
    return FlagError("--logdir",
                     "no --fetch is a summary (the output of ScalarSummary, "
                     "HistogramSummary, MergeSummary, ...)");
  }
  return out;
}

// Writes the summaries among `values` as step `step`'s events.
absl::Status WriteSummaries(EventsWriter* events,
                            const std::vector<size_t>& which,
                            const std::vector<Tensor>& values, int64_t step,
                            const RunFlags& f) {
  for (size_t i : which) {
    const Tensor& t = values[i];
    ::tensorflow::Summary summary;
    if (t.dtype() != DT_STRING || t.NumElements() != 1 ||
        !summary.ParseFromString(t.flat<std::string>()[0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--logdir: fetch '", f.fetches[i], "' is not a serialized Summary"));
    }
    RETURN_IF_ERROR(events->Summary(std::move(summary), step));
  }
  return absl::OkStatus();
}

void PrintFetches(const RunFlags& f, const std::vector<Tensor>& values,
                  std::ostream& out, absl::string_view prefix) {
  for (size_t i = 0; i < values.size(); ++i) {
    out << prefix << f.fetches[i] << " = ";
    WriteTensorText(values[i], f.summarize, out);
    out << "\n";
  }
}

}  // namespace

absl::Status Run(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(RunFlags f, ParseFlags(args));
  RETURN_IF_ERROR(f.security.Apply().status());
  if (!f.master.empty() && f.cpu_devices != 1) {
    return absl::InvalidArgumentError(
        "--devices applies to in-process runs; a cluster's devices are its "
        "servers'");
  }
  ASSIGN_OR_RETURN(::tensorflow::GraphDef def, ReadGraphDef(f.graph));
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ImportGraphDef(def));
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const auto& [name, value] : f.feeds) {
    ASSIGN_OR_RETURN(DataType dtype, FeedType(*graph, name));
    absl::StatusOr<Tensor> t = absl::StartsWith(value, "@")
                                   ? ReadNpy(value.substr(1), dtype)
                                   : ParseJsonTensor(value, dtype);
    if (!t.ok()) {
      return absl::Status(
          t.status().code(),
          absl::StrCat("--feed ", name, ": ", t.status().message()));
    }
    feeds.emplace_back(name, *std::move(t));
  }
  SessionOptions options;
  options.num_cpu_devices = f.cpu_devices;
  ASSIGN_OR_RETURN(std::unique_ptr<SessionInterface> session,
                   NewSession(f.master, std::move(def), options));
  std::unique_ptr<EventsWriter> events;
  std::vector<size_t> summaries;
  if (!f.logdir.empty()) {
    ASSIGN_OR_RETURN(summaries, SummaryFetches(*graph, f.fetches));
    absl::StatusOr<std::unique_ptr<EventsWriter>> writer =
        EventsWriter::Create(f.logdir);
    if (!writer.ok()) return FlagError("--logdir", writer.status().message());
    events = *std::move(writer);
  }
  if (!f.init.empty()) {
    RETURN_IF_ERROR(session->Run(feeds, {}, f.init).status());
  }
  std::vector<Tensor> last;
  RunMetadata meta;
  for (int64_t step = 1; step <= f.steps; ++step) {
    const bool final_step = step == f.steps;
    ASSIGN_OR_RETURN(
        last, session->Run(feeds, f.fetches, f.targets,
                           final_step && !f.trace.empty() ? &meta : nullptr));
    if (events != nullptr) {
      RETURN_IF_ERROR(WriteSummaries(events.get(), summaries, last, step, f));
    }
    if (!f.json && f.every > 0 && step % f.every == 0 && !final_step) {
      PrintFetches(f, last, out, absl::StrCat("step ", step, ": "));
      out.flush();  // Progress, seen as it comes even through a pipe.
    }
  }
  if (events != nullptr) RETURN_IF_ERROR(events->Flush());
  if (!f.trace.empty()) RETURN_IF_ERROR(WriteTrace(f.trace, meta));
  if (f.json) {
    out << "{\"fetches\": {";
    for (size_t i = 0; i < last.size(); ++i) {
      out << (i > 0 ? ", " : "") << JsonString(f.fetches[i]) << ": ";
      WriteTensorJson(last[i], out);
    }
    out << "}}\n";
  } else {
    PrintFetches(f, last, out,
                 f.steps > 1 ? absl::StrCat("step ", f.steps, ": ") : "");
  }
  return absl::OkStatus();
}

}  // namespace rill::tools
