#include "runtime/training/gradients.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"

namespace rill {

GradOpRegistry* GradOpRegistry::Global() {
  static auto* registry = new GradOpRegistry;
  return registry;
}

absl::Status GradOpRegistry::Register(const std::string& op, GradFunc fn) {
  absl::MutexLock lock(&mu_);
  if (!fns_.emplace(op, fn).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("op ", op, " already has a gradient declared"));
  }
  return absl::OkStatus();
}

absl::Status GradOpRegistry::RegisterNoGradient(const std::string& op) {
  return Register(op, nullptr);
}

absl::StatusOr<GradFunc> GradOpRegistry::Lookup(const std::string& op,
                                                bool* no_gradient) const {
  absl::MutexLock lock(&mu_);
  auto it = fns_.find(op);
  if (it == fns_.end()) {
    return absl::NotFoundError(absl::StrCat("no gradient for op ", op));
  }
  *no_gradient = it->second == nullptr;
  return it->second;
}

std::vector<std::string> GradOpRegistry::Differentiable() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [op, fn] : fns_) {
    if (fn != nullptr) out.push_back(op);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> GradOpRegistry::NotDifferentiable() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [op, fn] : fns_) {
    if (fn == nullptr) out.push_back(op);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace gradients_internal {
GradRegistrar::GradRegistrar(const char* op, GradFunc fn) {
  absl::Status s = GradOpRegistry::Global()->Register(op, fn);
  if (!s.ok()) {
    // Two registrations for one op is a bug in Rill itself.
    std::fprintf(stderr, "rill: %s\n", s.ToString().c_str());
    std::abort();
  }
}
}  // namespace gradients_internal

namespace {

// Gradients flow through floating-point tensors, resource handles (to the
// variable behind them) and variants (lists and optionals of tensors), not
// through integers, strings or bools.
bool CarriesGradient(DataType t) {
  switch (BaseType(t)) {
    case DT_FLOAT:
    case DT_DOUBLE:
    case DT_HALF:
    case DT_BFLOAT16:
    case ::tensorflow::DT_COMPLEX64:
    case ::tensorflow::DT_COMPLEX128:
    case DT_RESOURCE:
    case DT_VARIANT:
      return true;
    default:
      return false;
  }
}

struct OutputKey {
  const Node* node;
  int index;
  bool operator==(const OutputKey& o) const {
    return node == o.node && index == o.index;
  }
  template <typename H>
  friend H AbslHashValue(H h, const OutputKey& k) {
    return H::combine(std::move(h), k.node, k.index);
  }
};

class GradientBuilder {
 public:
  GradientBuilder(const Scope& scope, const std::vector<Output>& outputs,
                  const std::vector<Output>& inputs,
                  const std::vector<Output>* grad_inputs,
                  UnconnectedGradients unconnected)
      : scope_(scope.NewSubScope("gradients")),
        outputs_(outputs),
        inputs_(inputs),
        ones_(grad_inputs == nullptr),
        unconnected_(unconnected) {
    if (grad_inputs != nullptr) grad_inputs_ = *grad_inputs;
  }

  absl::Status Run(std::vector<Output>* grad_outputs);

 private:
  absl::Status Validate() const;
  // Marks the nodes on a data path from an input to an output.
  void FindNodesBetween();
  // The sum of the gradients that reached `key` (null when none).
  absl::StatusOr<Output> SumGradients(const OutputKey& key);
  absl::Status BackpropThrough(Node* node, std::deque<Node*>* ready);

  const Scope scope_;
  const std::vector<Output>& outputs_;
  const std::vector<Output>& inputs_;
  const bool ones_;  // grad_inputs_ are OnesLike(output), made in Run.
  std::vector<Output> grad_inputs_;
  const UnconnectedGradients unconnected_;

  absl::flat_hash_set<const Node*> between_;
  // Consumers in between_ that have not yet sent their gradients.
  absl::flat_hash_map<const Node*, int> pending_;
  absl::flat_hash_map<OutputKey, std::vector<Output>> backprops_;
  absl::flat_hash_map<OutputKey, Output> input_grads_;
};

absl::Status GradientBuilder::Validate() const {
  if (outputs_.empty()) {
    return absl::InvalidArgumentError("AddSymbolicGradients needs outputs");
  }
  if (grad_inputs_.size() != outputs_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("AddSymbolicGradients: ", outputs_.size(), " outputs but ",
                     grad_inputs_.size(), " grad_inputs"));
  }
  Graph* graph = scope_.graph();
  auto in_graph = [graph](const Output& o) {
    return o.node() != nullptr && graph->FindNode(o.node()->name()) == o.node();
  };
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (!in_graph(outputs_[i]) || !in_graph(grad_inputs_[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("AddSymbolicGradients: output ", i,
                       " or its grad_input is not a "
                       "node of the scope's graph"));
    }
    if (BaseType(outputs_[i].type()) != BaseType(grad_inputs_[i].type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("AddSymbolicGradients: output ", outputs_[i].name(),
                       " is ", DataTypeName(BaseType(outputs_[i].type())),
                       " but its grad_input ", grad_inputs_[i].name(), " is ",
                       DataTypeName(BaseType(grad_inputs_[i].type()))));
    }
  }
  for (const Output& in : inputs_) {
    if (!in_graph(in)) {
      return absl::InvalidArgumentError(
          "AddSymbolicGradients: an input is not a node of the scope's graph");
    }
  }
  return absl::OkStatus();
}

void GradientBuilder::FindNodesBetween() {
  // Backward from the outputs along gradient-carrying data edges.
  absl::flat_hash_set<const Node*> upstream;
  std::deque<const Node*> queue;
  for (const Output& o : outputs_) {
    if (upstream.insert(o.node()).second) queue.push_back(o.node());
  }
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      if (e == nullptr || !CarriesGradient(n->input_type(i))) continue;
      if (upstream.insert(e->src).second) queue.push_back(e->src);
    }
  }
  // Forward from the inputs, keeping what is also upstream of an output.
  for (const Output& in : inputs_) {
    if (upstream.contains(in.node()) && between_.insert(in.node()).second) {
      queue.push_back(in.node());
    }
  }
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    for (const Edge* e : n->out_edges()) {
      if (e->IsControlEdge() ||
          !CarriesGradient(e->dst->input_type(e->dst_input))) {
        continue;
      }
      if (upstream.contains(e->dst) && between_.insert(e->dst).second) {
        queue.push_back(e->dst);
      }
    }
  }
}

absl::StatusOr<Output> GradientBuilder::SumGradients(const OutputKey& key) {
  auto it = backprops_.find(key);
  if (it == backprops_.end() || it->second.empty()) return Output();
  std::vector<Output>& grads = it->second;
  if (grads.size() == 1) return grads[0];
  Output sum = ops::AddN(scope_, grads);
  RETURN_IF_ERROR(scope_.status());
  return sum;
}

absl::Status GradientBuilder::BackpropThrough(Node* node,
                                              std::deque<Node*>* ready) {
  std::vector<Output> grads(node->num_outputs());
  bool any = false;
  for (int i = 0; i < node->num_outputs(); ++i) {
    ASSIGN_OR_RETURN(grads[i], SumGradients({node, i}));
    if (grads[i].node() != nullptr) {
      any = true;
      // Inputs asked for get the complete sum: every consumer is done.
      if (input_grads_.contains(OutputKey{node, i})) {
        input_grads_[OutputKey{node, i}] = grads[i];
      }
    }
  }
  // The data inputs that lie between an input and an output.
  std::vector<int> wanted;
  for (int i = 0; i < node->num_inputs(); ++i) {
    const Edge* e = node->input_edge(i);
    if (e != nullptr && between_.contains(e->src) &&
        CarriesGradient(node->input_type(i))) {
      wanted.push_back(i);
    }
  }
  std::vector<Output> dx;
  if (any && !wanted.empty()) {
    bool no_gradient = false;
    absl::StatusOr<GradFunc> fn =
        GradOpRegistry::Global()->Lookup(node->op(), &no_gradient);
    if (!fn.ok()) {
      return absl::UnimplementedError(
          absl::StrCat("no gradient is defined for op ", node->op(), " (node '",
                       node->name(), "')"));
    }
    if (!no_gradient) {
      RETURN_IF_ERROR((*fn)(scope_.NewSubScope(node->name() + "_grad"),
                            Operation(node), grads, &dx));
      RETURN_IF_ERROR(scope_.status());
      if (static_cast<int>(dx.size()) != node->num_inputs()) {
        return absl::InternalError(absl::StrCat(
            "the gradient of ", node->op(), " returned ", dx.size(),
            " gradients for ", node->num_inputs(), " inputs"));
      }
    }
  }
  for (int i : wanted) {
    const Edge* e = node->input_edge(i);
    if (i < static_cast<int>(dx.size()) && dx[i].node() != nullptr) {
      backprops_[OutputKey{e->src, e->src_output}].push_back(dx[i]);
    }
    if (--pending_[e->src] == 0) ready->push_back(e->src);
  }
  return absl::OkStatus();
}

absl::Status GradientBuilder::Run(std::vector<Output>* grad_outputs) {
  RETURN_IF_ERROR(scope_.status());
  if (ones_) {
    for (const Output& o : outputs_) {
      if (o.node() == nullptr) break;
      grad_inputs_.push_back(ops::OnesLike(scope_, o));
    }
    RETURN_IF_ERROR(scope_.status());
  }
  RETURN_IF_ERROR(Validate());
  FindNodesBetween();
  for (const Output& in : inputs_)
    input_grads_[OutputKey{in.node(), in.index()}];
  // Each node waits for its consumers between the inputs and outputs.
  for (const Node* n : between_) {
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      if (e != nullptr && between_.contains(e->src) &&
          CarriesGradient(n->input_type(i))) {
        ++pending_[e->src];
      }
    }
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (between_.contains(outputs_[i].node())) {
      backprops_[OutputKey{outputs_[i].node(), outputs_[i].index()}].push_back(
          grad_inputs_[i]);
    }
  }
  std::deque<Node*> ready;
  absl::flat_hash_set<const Node*> seeded;
  for (const Output& o : outputs_) {
    if (between_.contains(o.node()) && pending_[o.node()] == 0 &&
        seeded.insert(o.node()).second) {
      ready.push_back(o.node());
    }
  }
  int done = 0;
  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    RETURN_IF_ERROR(BackpropThrough(n, &ready));
    ++done;
  }
  if (done != static_cast<int>(between_.size())) {
    // A node waits on consumers that never finished: a cycle between the
    // inputs and outputs (loops are not differentiable yet).
    return absl::UnimplementedError(
        "AddSymbolicGradients: the graph between the inputs and outputs has "
        "a cycle");
  }
  grad_outputs->clear();
  for (const Output& in : inputs_) {
    Output g = input_grads_[OutputKey{in.node(), in.index()}];
    if (g.node() == nullptr && unconnected_ == UnconnectedGradients::kZero) {
      if (BaseType(in.type()) == DT_RESOURCE) {
        return absl::InvalidArgumentError(absl::StrCat(
            "AddSymbolicGradients: no output depends on the resource input ",
            in.name(), ", and a resource has no zeros"));
      }
      g = ops::ZerosLike(scope_, in);
      RETURN_IF_ERROR(scope_.status());
    }
    grad_outputs->push_back(g);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AddSymbolicGradients(const Scope& scope,
                                  const std::vector<Output>& outputs,
                                  const std::vector<Output>& inputs,
                                  const std::vector<Output>& grad_inputs,
                                  std::vector<Output>* grad_outputs,
                                  UnconnectedGradients unconnected) {
  GradientBuilder builder(scope, outputs, inputs, &grad_inputs, unconnected);
  absl::Status s = builder.Run(grad_outputs);
  if (!s.ok()) scope.UpdateStatus(s);
  return s;
}

absl::Status AddSymbolicGradients(const Scope& scope,
                                  const std::vector<Output>& outputs,
                                  const std::vector<Output>& inputs,
                                  std::vector<Output>* grad_outputs,
                                  UnconnectedGradients unconnected) {
  GradientBuilder builder(scope, outputs, inputs, nullptr, unconnected);
  absl::Status s = builder.Run(grad_outputs);
  if (!s.ok()) scope.UpdateStatus(s);
  return s;
}

}  // namespace rill
