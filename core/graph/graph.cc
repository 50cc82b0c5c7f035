#include "core/graph/graph.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/framework/node_def_util.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

std::string NodeError(absl::string_view name, absl::string_view message) {
  return absl::StrCat("node '", name, "': ", message);
}

}  // namespace

bool IsValidNodeName(absl::string_view name) {
  if (name.empty()) return false;
  auto first_ok = [](char c) { return absl::ascii_isalnum(c) || c == '.'; };
  auto rest_ok = [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '/' ||
           c == '>' || c == '-';
  };
  if (!first_ok(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), rest_ok);
}

Node::Node(Key, int id, ::tensorflow::NodeDef def, const OpRegistrationData* op,
           std::vector<DataType> input_types,
           std::vector<DataType> output_types)
    : id_(id),
      def_(std::move(def)),
      op_(op),
      input_types_(std::move(input_types)),
      output_types_(std::move(output_types)),
      data_in_(input_types_.size(), nullptr) {}

Graph::Graph(const OpRegistry* registry) : registry_(registry) {}

absl::StatusOr<Node*> Graph::AddNode(::tensorflow::NodeDef def) {
  if (!IsValidNodeName(def.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid node name '", def.name(), "'"));
  }
  if (by_name_.contains(def.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("duplicate node name '", def.name(), "'"));
  }
  absl::StatusOr<const OpRegistrationData*> op = registry_->LookUp(def.op());
  if (!op.ok()) {
    return absl::NotFoundError(NodeError(def.name(), op.status().message()));
  }
  AddDefaultAttrs((*op)->op_def, def.mutable_attr());
  absl::Status s = ValidateAttrs((*op)->op_def, def.attr());
  std::vector<DataType> in, out;
  if (s.ok()) s = InOutTypes((*op)->op_def, def.attr(), &in, &out);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        NodeError(def.name(), absl::StrCat("(", def.op(), ") ", s.message())));
  }
  def.clear_input();
  const int id = static_cast<int>(nodes_.size());
  Node* node = &nodes_.emplace_back(Node::Key(), id, std::move(def), *op,
                                    std::move(in), std::move(out));
  node_list_.push_back(node);
  by_name_[node->name()] = node;
  return node;
}

absl::StatusOr<const Edge*> Graph::AddEdge(Node* src, int src_output, Node* dst,
                                           int dst_input) {
  if (src_output < 0 || src_output >= src->num_outputs()) {
    return absl::InvalidArgumentError(NodeError(
        dst->name(),
        absl::StrCat("input ", dst_input, " refers to output ", src_output,
                     " of '", src->name(), "', which has ", src->num_outputs(),
                     " outputs")));
  }
  if (dst_input < 0 || dst_input >= dst->num_inputs()) {
    return absl::InvalidArgumentError(NodeError(
        dst->name(), absl::StrCat("has no input ", dst_input, "; op ",
                                  dst->op(), " takes ", dst->num_inputs())));
  }
  if (dst->data_in_[dst_input] != nullptr) {
    return absl::InvalidArgumentError(
        NodeError(dst->name(),
                  absl::StrCat("input ", dst_input, " is already connected")));
  }
  const DataType have = src->output_type(src_output);
  const DataType want = dst->input_type(dst_input);
  const bool fits = have == want || (IsRefType(have) && !IsRefType(want) &&
                                     BaseType(have) == want);
  if (!fits) {
    std::string why = IsRefType(want) && !IsRefType(have)
                          ? " (a ref input needs a ref output, e.g. a variable)"
                          : "";
    return absl::InvalidArgumentError(
        NodeError(dst->name(),
                  absl::StrCat("input ", dst_input, " expects ",
                               DataTypeName(want), " but '", src->name(), ":",
                               src_output, "' is ", DataTypeName(have), why)));
  }
  Edge* e = &edges_.emplace_back(Edge{src, src_output, dst, dst_input});
  dst->data_in_[dst_input] = e;
  src->out_.push_back(e);
  return e;
}

const Edge* Graph::AddControlEdge(Node* src, Node* dst) {
  // Look for an existing edge from the shorter side: a NoOp joining 10^4
  // nodes has 10^4 control inputs, each of them few outputs.
  if (src->out_.size() < dst->control_in_.size()) {
    for (const Edge* e : src->out_) {
      if (e->dst == dst && e->IsControlEdge()) return e;
    }
  } else {
    for (const Edge* e : dst->control_in_) {
      if (e->src == src) return e;
    }
  }
  Edge* e = &edges_.emplace_back(Edge{src, kControlSlot, dst, kControlSlot});
  dst->control_in_.push_back(e);
  src->out_.push_back(e);
  return e;
}

Node* Graph::FindNode(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

namespace {

// The source of a TensorFlow 1 loop's back edge.
bool IsNextIteration(const Node& n) {
  return n.op() == "NextIteration" || n.op() == "RefNextIteration";
}

}  // namespace

absl::StatusOr<std::vector<Node*>> Graph::TopologicalOrder() const {
  // Kahn's algorithm: iterative, so a 10^6-node chain is fine. Among ready
  // nodes the one added first goes first, so the order (and the first error
  // a pass over it reports) follows the GraphDef wherever the edges allow.
  // The edges out of NextIteration are a TensorFlow 1 loop's back edges:
  // they do not count, so a loop is not a cycle (and every other cycle
  // still is).
  std::vector<int> pending(nodes_.size(), 0);
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (Node* n : node_list_) {
    int count = 0;
    for (const Edge* e : n->control_in_) count += !IsNextIteration(*e->src);
    for (const Edge* e : n->data_in_) {
      count += e != nullptr && !IsNextIteration(*e->src);
    }
    pending[n->id()] = count;
    if (count == 0) ready.push(n->id());
  }
  std::vector<Node*> order;
  order.reserve(nodes_.size());
  while (!ready.empty()) {
    Node* n = node_list_[ready.top()];
    ready.pop();
    order.push_back(n);
    if (IsNextIteration(*n)) continue;
    for (const Edge* e : n->out_) {
      if (--pending[e->dst->id()] == 0) ready.push(e->dst->id());
    }
  }
  if (order.size() == nodes_.size()) return order;

  // Name a few nodes that are on (or behind) a cycle.
  std::vector<std::string> stuck;
  for (Node* n : node_list_) {
    if (pending[n->id()] > 0 && stuck.size() < 5) stuck.push_back(n->name());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("graph has a cycle; ", nodes_.size() - order.size(),
                   " nodes never become ready, among them '",
                   absl::StrJoin(stuck, "', '"), "'"));
}

void Graph::ToGraphDef(::tensorflow::GraphDef* out) const {
  out->Clear();
  out->mutable_node()->Reserve(num_nodes());
  for (const Node* n : node_list_) {
    ::tensorflow::NodeDef* def = out->add_node();
    *def = n->def_;
    for (const Edge* e : n->data_in_) {
      if (e == nullptr) continue;
      def->add_input(e->src_output == 0
                         ? e->src->name()
                         : absl::StrCat(e->src->name(), ":", e->src_output));
    }
    for (const Edge* e : n->control_in_) {
      def->add_input(absl::StrCat("^", e->src->name()));
    }
  }
  if (versions_.ByteSizeLong() > 0) *out->mutable_versions() = versions_;
  if (library_.ByteSizeLong() > 0) *out->mutable_library() = library_;
  if (debug_info_.ByteSizeLong() > 0) *out->mutable_debug_info() = debug_info_;
}

}  // namespace rill
