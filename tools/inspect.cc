#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/framework/op_registry.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "core/graph/shape_refiner.h"
#include "core/platform/status_macros.h"
#include "google/protobuf/text_format.h"
#include "tools/commands.h"

namespace rill::tools {

absl::Status Inspect(const Args& args, std::ostream& out) {
  if (args.size() != 1) {
    return absl::InvalidArgumentError("usage: rill inspect GRAPH");
  }
  const std::string& path = args[0];
  ASSIGN_OR_RETURN(::tensorflow::GraphDef def, ReadGraphDef(path));

  std::map<std::string, int> ops;
  std::map<std::string, int> devices;
  std::set<std::string> unknown_ops;
  for (const auto& node : def.node()) {
    ++ops[node.op()];
    ++devices[node.device().empty() ? "(none requested)" : node.device()];
    if (!OpRegistry::Global()->LookUp(node.op()).ok()) {
      unknown_ops.insert(node.op());
    }
  }
  out << "graph: " << path << " ("
      << (FormatForPath(path) == GraphFormat::kText ? "text" : "binary")
      << " GraphDef, producer " << def.versions().producer() << ")\n";
  out << "nodes: " << def.node_size() << "\n";
  if (def.library().function_size() > 0) {
    out << "functions: " << def.library().function_size()
        << " (kept, not yet callable)\n";
  }
  // Ops by count, most frequent first.
  std::vector<std::pair<std::string, int>> by_count(ops.begin(), ops.end());
  std::stable_sort(
      by_count.begin(), by_count.end(),
      [](const auto& a, const auto& b) { return a.second > b.second; });
  size_t width = 0;
  for (const auto& [op, n] : by_count) width = std::max(width, op.size());
  out << "ops: " << ops.size() << " distinct\n";
  for (const auto& [op, n] : by_count) {
    out << absl::StrFormat("  %-*s %d\n", static_cast<int>(width), op, n);
  }
  out << "devices:\n";
  for (const auto& [device, n] : devices) {
    out << "  " << device << ": " << n << "\n";
  }

  if (!unknown_ops.empty()) {
    out << "validation: FAILED\n";
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path,
        "' uses ops Rill does not have: ", absl::StrJoin(unknown_ops, ", ")));
  }
  absl::StatusOr<std::unique_ptr<Graph>> graph = ImportGraphDef(std::move(def));
  if (!graph.ok()) {
    out << "validation: FAILED\n";
    return graph.status();
  }
  absl::StatusOr<GraphShapes> shapes = InferShapes(**graph);
  if (!shapes.ok()) {
    out << "validation: FAILED\n";
    return shapes.status();
  }
  out << "validation: ok (ops, attrs, inputs, dtypes, acyclic, shapes)\n";
  return absl::OkStatus();
}

absl::Status Ops(const Args& args, std::ostream& out) {
  if (!args.empty()) return absl::InvalidArgumentError("usage: rill ops");
  std::vector<const OpRegistrationData*> ops = OpRegistry::Global()->List();
  std::sort(ops.begin(), ops.end(), [](const auto* a, const auto* b) {
    return a->op_def.name() < b->op_def.name();
  });
  ::tensorflow::OpList list;
  for (const OpRegistrationData* op : ops) *list.add_op() = op->op_def;
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(list, &text)) {
    return absl::InternalError("cannot print the op list");
  }
  out << text;
  return absl::OkStatus();
}

}  // namespace rill::tools
