#include "core/graph/graph_import.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {

absl::StatusOr<InputRef> ParseInputRef(absl::string_view input) {
  InputRef ref;
  if (!input.empty() && input[0] == '^') {
    ref.node = input.substr(1);
    ref.index = kControlSlot;
  } else {
    size_t colon = input.rfind(':');
    if (colon == absl::string_view::npos) {
      ref.node = input;
    } else {
      ref.node = input.substr(0, colon);
      if (!absl::SimpleAtoi(input.substr(colon + 1), &ref.index) ||
          ref.index < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("malformed input '", input, "'"));
      }
    }
  }
  if (!IsValidNodeName(ref.node)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed input '", input, "'"));
  }
  return ref;
}

absl::StatusOr<std::unique_ptr<Graph>> ImportGraphDef(
    ::tensorflow::GraphDef def, const ImportOptions& options) {
  if (def.node_size() > options.max_nodes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("graph has ", def.node_size(),
                     " nodes, above the limit of ", options.max_nodes));
  }
  auto graph = std::make_unique<Graph>(options.registry);
  graph->mutable_versions()->Swap(def.mutable_versions());
  graph->mutable_library()->Swap(def.mutable_library());
  graph->mutable_debug_info()->Swap(def.mutable_debug_info());

  // First every node, so inputs may refer to nodes defined later. The nodes
  // move into the graph; their input lists are kept here for the edges.
  const int num_nodes = def.node_size();
  std::vector<Node*> nodes;
  nodes.reserve(num_nodes);
  std::vector<google::protobuf::RepeatedPtrField<std::string>> inputs(
      num_nodes);
  for (int i = 0; i < num_nodes; ++i) {
    ::tensorflow::NodeDef* node_def = def.mutable_node(i);
    inputs[i].Swap(node_def->mutable_input());
    ASSIGN_OR_RETURN(Node * n, graph->AddNode(std::move(*node_def)));
    nodes.push_back(n);
  }

  // Then the edges.
  for (int i = 0; i < num_nodes; ++i) {
    Node* dst = nodes[i];
    int data_inputs = 0;
    bool seen_control = false;
    for (const std::string& input : inputs[i]) {
      absl::StatusOr<InputRef> ref = ParseInputRef(input);
      if (!ref.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", dst->name(), "': ", ref.status().message()));
      }
      Node* src = graph->FindNode(ref->node);
      if (src == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", dst->name(), "': input '", input, "' refers to node '",
            ref->node, "', which is not in the graph"));
      }
      if (ref->index == kControlSlot) {
        seen_control = true;
        graph->AddControlEdge(src, dst);
        continue;
      }
      if (seen_control) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", dst->name(), "': data input '", input,
                         "' comes after a control input"));
      }
      if (data_inputs >= dst->num_inputs()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", dst->name(), "' (", dst->op(), ") has more than ",
            dst->num_inputs(), " data inputs"));
      }
      RETURN_IF_ERROR(
          graph->AddEdge(src, ref->index, dst, data_inputs).status());
      ++data_inputs;
    }
    if (data_inputs != dst->num_inputs()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", dst->name(), "' (", dst->op(), ") has ", data_inputs,
          " data inputs but needs ", dst->num_inputs()));
    }
  }
  RETURN_IF_ERROR(graph->TopologicalOrder().status());
  return graph;
}

}  // namespace rill
