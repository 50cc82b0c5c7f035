#include "core/cc/import_graph.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/framework/attr_value.h"
#include "core/framework/types.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

bool IsPlacementField(absl::string_view field) {
  return absl::StartsWith(field, "job:") ||
         absl::StartsWith(field, "replica:") ||
         absl::StartsWith(field, "task:");
}

}  // namespace

std::string MergeDeviceUnder(const std::string& outer,
                             const std::string& device) {
  // Each split into its placement (job, replica, task) and the rest.
  auto split = [](const std::string& name, std::vector<std::string>* placement,
                  std::vector<std::string>* rest) {
    for (absl::string_view f : absl::StrSplit(name, '/', absl::SkipEmpty())) {
      (IsPlacementField(f) ? placement : rest)->emplace_back(f);
    }
  };
  std::vector<std::string> outer_placement, outer_rest, placement, rest;
  split(outer, &outer_placement, &outer_rest);
  split(device, &placement, &rest);
  if (!outer_placement.empty()) placement = std::move(outer_placement);
  if (rest.empty()) rest = std::move(outer_rest);
  placement.insert(placement.end(), rest.begin(), rest.end());
  if (placement.empty()) return "";
  return absl::StrCat("/", absl::StrJoin(placement, "/"));
}

absl::StatusOr<ImportedNodes> ImportIntoScope(
    const Scope& scope, ::tensorflow::GraphDef def,
    const absl::flat_hash_map<std::string, Output>& input_map) {
  RETURN_IF_ERROR(scope.status());
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> source,
                   ImportGraphDef(std::move(def)));
  // input_map keyed "node:index".
  absl::flat_hash_map<std::string, Output> replaced;
  for (const auto& [name, output] : input_map) {
    absl::StatusOr<InputRef> ref = ParseInputRef(name);
    const Node* n = ref.ok() ? source->FindNode(ref->node) : nullptr;
    if (n == nullptr || ref->index < 0 || ref->index >= n->num_outputs()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input_map names '", name, "', which the graph does not have"));
    }
    if (output.node() == nullptr ||
        BaseType(output.type()) != BaseType(n->output_type(ref->index))) {
      return absl::InvalidArgumentError(
          absl::StrCat("input_map: '", name, "' is ",
                       DataTypeName(n->output_type(ref->index)),
                       ", its replacement is not"));
    }
    replaced[absl::StrCat(ref->node, ":", ref->index)] = output;
  }
  ASSIGN_OR_RETURN(std::vector<Node*> order, source->TopologicalOrder());
  Graph* graph = scope.graph();
  const std::string& prefix = scope.name_prefix();
  auto renamed = [&](absl::string_view name) {
    return prefix.empty() ? std::string(name) : absl::StrCat(prefix, "/", name);
  };
  std::vector<std::string> taken;
  for (const Node* n : order) {
    if (graph->FindNode(renamed(n->name())) != nullptr) {
      taken.push_back(renamed(n->name()));
    }
  }
  if (!taken.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "importing into '", prefix, "': the graph already has ", taken.size(),
        " of these nodes: ",
        absl::StrJoin(taken.begin(),
                      taken.begin() + std::min<size_t>(taken.size(), 5),
                      ", ")));
  }
  ImportedNodes added;
  for (const Node* n : order) {
    ::tensorflow::NodeDef node_def = n->def();
    node_def.set_name(renamed(n->name()));
    node_def.set_device(
        MergeDeviceUnder(scope.device(), n->requested_device()));
    auto& attrs = *node_def.mutable_attr();
    if (auto it = attrs.find("_class"); it != attrs.end()) {
      for (std::string& loc : *it->second.mutable_list()->mutable_s()) {
        if (absl::StartsWith(loc, "loc:@")) {
          loc = absl::StrCat("loc:@", renamed(loc.substr(5)));
        }
      }
    }
    if (n->op() == "VarHandleOp") {
      auto it = attrs.find("shared_name");
      if (it != attrs.end() && it->second.s() == n->name()) {
        it->second.set_s(node_def.name());
      }
    }
    ASSIGN_OR_RETURN(Node * copy, graph->AddNode(std::move(node_def)));
    added[n->name()] = copy;
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      auto it = replaced.find(absl::StrCat(e->src->name(), ":", e->src_output));
      if (it != replaced.end()) {
        RETURN_IF_ERROR(
            graph->AddEdge(it->second.node(), it->second.index(), copy, i)
                .status());
        continue;
      }
      RETURN_IF_ERROR(
          graph->AddEdge(added.at(e->src->name()), e->src_output, copy, i)
              .status());
    }
    for (const Edge* e : n->control_in_edges()) {
      graph->AddControlEdge(added.at(e->src->name()), copy);
    }
  }
  return added;
}

}  // namespace rill
