#include "runtime/session/step_graph.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"

namespace rill {

absl::StatusOr<std::pair<std::string, int>> ParseTensorName(
    const std::string& name, absl::string_view what) {
  absl::StatusOr<InputRef> ref = ParseInputRef(name);
  if (!ref.ok() || ref->index == kControlSlot) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", name, "' is not a tensor name (node or node:i)"));
  }
  return std::make_pair(std::string(ref->node), ref->index);
}

std::string Canonical(const std::pair<std::string, int>& t) {
  return absl::StrCat(t.first, ":", t.second);
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

absl::StatusOr<std::unique_ptr<Graph>> BuildStepGraph(
    const Graph& graph, const std::vector<std::string>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets) {
  const Graph& g = graph;
  // (node, output) -> _Arg index.
  absl::flat_hash_map<std::pair<const Node*, int>, int> fed;
  for (size_t i = 0; i < feeds.size(); ++i) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(feeds[i], "feed"));
    const Node* n = g.FindNode(t.first);
    if (n == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("feed '", feeds[i], "': no node '", t.first, "'"));
    }
    if (t.second >= n->num_outputs()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", feeds[i], "': node '", t.first, "' has ",
                       n->num_outputs(), " outputs"));
    }
    fed[{n, t.second}] = static_cast<int>(i);
  }
  std::vector<std::pair<const Node*, int>> fetch_tensors;
  std::vector<const Node*> stack;
  for (const std::string& f : fetches) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(f, "fetch"));
    const Node* n = g.FindNode(t.first);
    if (n == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("fetch '", f, "': no node '", t.first, "'"));
    }
    if (t.second >= n->num_outputs()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fetch '", f, "': node '", t.first, "' has ",
                       n->num_outputs(), " outputs"));
    }
    fetch_tensors.emplace_back(n, t.second);
    if (!fed.contains({n, t.second})) stack.push_back(n);
  }
  for (const std::string& name : targets) {
    const Node* n = g.FindNode(name);
    if (n == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("target '", name, "': no such node"));
    }
    stack.push_back(n);
  }

  // Prune: everything the fetches and targets need, stopping at feeds.
  std::vector<bool> keep(g.num_nodes(), false);
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (keep[n->id()]) continue;
    keep[n->id()] = true;
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      if (!fed.contains({e->src, e->src_output})) stack.push_back(e->src);
    }
    for (const Edge* e : n->control_in_edges()) stack.push_back(e->src);
  }

  // A prefix no node of the graph uses, for the _Arg/_Retval names.
  std::string prefix = "rill";
  auto prefix_taken = [&] {
    for (size_t i = 0; i < std::max(feeds.size(), fetch_tensors.size()); ++i) {
      if (g.FindNode(absl::StrCat(prefix, "_arg_", i)) != nullptr ||
          g.FindNode(absl::StrCat(prefix, "_retval_", i)) != nullptr) {
        return true;
      }
    }
    return false;
  };
  while (prefix_taken()) prefix += "_";
  auto arg_name = [&](int i) { return absl::StrCat(prefix, "_arg_", i); };

  ::tensorflow::GraphDef def;
  *def.mutable_versions() = g.versions();
  *def.mutable_library() = g.library();  // For the nodes that call functions.
  for (const Node* n : g.nodes()) {
    if (!keep[n->id()]) continue;
    ::tensorflow::NodeDef* nd = def.add_node();
    *nd = n->def();
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      auto it = fed.find({e->src, e->src_output});
      nd->add_input(it != fed.end()
                        ? arg_name(it->second)
                        : absl::StrCat(e->src->name(), ":", e->src_output));
    }
    for (const Edge* e : n->control_in_edges()) {
      nd->add_input(absl::StrCat("^", e->src->name()));
    }
  }
  for (const auto& [tensor, index] : fed) {
    ::tensorflow::NodeDef* nd = def.add_node();
    nd->set_name(arg_name(index));
    nd->set_op("_Arg");
    (*nd->mutable_attr())["T"] =
        MakeAttr(BaseType(tensor.first->output_type(tensor.second)));
    (*nd->mutable_attr())["index"] = MakeAttr(index);
  }
  for (size_t i = 0; i < fetch_tensors.size(); ++i) {
    const auto& [n, slot] = fetch_tensors[i];
    ::tensorflow::NodeDef* nd = def.add_node();
    nd->set_name(absl::StrCat(prefix, "_retval_", i));
    nd->set_op("_Retval");
    auto it = fed.find({n, slot});
    nd->add_input(it != fed.end() ? arg_name(it->second)
                                  : absl::StrCat(n->name(), ":", slot));
    (*nd->mutable_attr())["T"] = MakeAttr(BaseType(n->output_type(slot)));
    (*nd->mutable_attr())["index"] = MakeAttr(static_cast<int>(i));
  }
  return ImportGraphDef(std::move(def));
}

}  // namespace rill
