#include "runtime/training/optimizer.h"

#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/cc/node_builder.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"
#include "runtime/training/gradients.h"

namespace rill {
namespace {

using grad::IsResourceVariable;
using grad::IsVariableNode;
using grad::VariableDtype;

// The dtype and shape a variable node was declared with.
absl::Status VariableInfo(const Output& var, DataType* dtype,
                          PartialTensorShape* shape) {
  const Node* n = var.node();
  if (n == nullptr || !IsVariableNode(n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", n == nullptr ? "(null)" : n->name(),
                     "' is not a variable (VariableV2 or VarHandleOp)"));
  }
  RETURN_IF_ERROR(GetAttr(n->attrs(), "dtype", dtype));
  RETURN_IF_ERROR(GetAttr(n->attrs(), "shape", shape));
  return absl::OkStatus();
}

}  // namespace

Output CreateGlobalStep(const Scope& scope, Operation* initializer) {
  auto step = ops::VariableV2(scope.WithOpName("global_step"),
                              PartialTensorShape({}), DT_INT64);
  *initializer =
      ops::Assign(scope.WithOpName("global_step/Assign"), step, int64_t{0})
          .operation;
  return step;
}

std::vector<Output> VariablesOf(const Output& loss) {
  std::vector<const Node*> found;
  absl::flat_hash_set<const Node*> seen = {loss.node()};
  std::deque<const Node*> queue = {loss.node()};
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    if (IsVariableNode(n)) found.push_back(n);
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      if (e != nullptr && seen.insert(e->src).second) queue.push_back(e->src);
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Node* a, const Node* b) { return a->id() < b->id(); });
  std::vector<Output> vars;
  for (const Node* n : found) {
    DataType dtype;
    if (!GetAttr(n->attrs(), "dtype", &dtype).ok()) continue;
    if (dtype == DT_FLOAT || dtype == DT_DOUBLE) {
      vars.emplace_back(const_cast<Node*>(n), 0);
    }
  }
  return vars;
}

absl::StatusOr<std::vector<Optimizer::GradAndVar>> Optimizer::ComputeGradients(
    const Scope& scope, const Output& loss,
    const std::vector<Output>& var_list) {
  std::vector<Output> vars = var_list.empty() ? VariablesOf(loss) : var_list;
  for (const Output& v : vars) {
    DataType dtype;
    PartialTensorShape shape;
    RETURN_IF_ERROR(VariableInfo(v, &dtype, &shape));
  }
  if (vars.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the loss ", loss.name(), " depends on no floating-point variable"));
  }
  std::vector<Output> grads;
  RETURN_IF_ERROR(AddSymbolicGradients(scope, {loss}, vars, &grads,
                                       UnconnectedGradients::kNone));
  std::vector<GradAndVar> out;
  for (size_t i = 0; i < vars.size(); ++i) {
    if (grads[i].node() != nullptr) out.emplace_back(grads[i], vars[i]);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no gradient flows from the loss ", loss.name(),
                     " to any of the variables"));
  }
  return out;
}

absl::StatusOr<Operation> Optimizer::ApplyGradients(
    const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
    const MinimizeOptions& options) {
  RETURN_IF_ERROR(scope.status());
  const std::string name = options.name.empty() ? name_ : options.name;
  // Every update waits for every gradient: the backward pass reads the
  // variables (x * w's gradient with respect to x reads w), and a ref
  // variable is updated in place, so an early update would race with
  // those reads and make the step's result depend on timing.
  std::vector<Operation> gradients;
  for (const auto& [grad, var] : grads_and_vars) {
    if (grad.node() != nullptr) gradients.push_back(grad.op());
  }
  Scope updates_scope =
      scope.NewSubScope(name + "/update").WithControlDependencies(gradients);
  RETURN_IF_ERROR(Prepare(updates_scope, grads_and_vars));
  std::vector<Operation> updates;
  for (const auto& [grad, var] : grads_and_vars) {
    if (grad.node() == nullptr) continue;
    ASSIGN_OR_RETURN(
        Operation op,
        ApplyDense(updates_scope.NewSubScope(var.node()->name()), grad, var));
    updates.push_back(op);
  }
  ASSIGN_OR_RETURN(std::vector<Operation> done, Finish(updates_scope, updates));
  if (options.global_step.node() != nullptr) {
    auto inc = ops::AssignAdd(updates_scope.WithOpName("global_step_increment")
                                  .WithControlDependencies(done)
                                  .ColocateWith(options.global_step),
                              options.global_step, int64_t{1});
    done.push_back(inc.operation);
  }
  auto train = ops::NoOp(scope.WithOpName(name).WithControlDependencies(done));
  RETURN_IF_ERROR(scope.status());
  return train.operation;
}

absl::StatusOr<Operation> Optimizer::Minimize(const Scope& scope,
                                              const Output& loss,
                                              const MinimizeOptions& options) {
  ASSIGN_OR_RETURN(std::vector<GradAndVar> grads,
                   ComputeGradients(scope, loss, options.var_list));
  return ApplyGradients(scope, grads, options);
}

Output Optimizer::Slot(const Scope& scope, const Output& var,
                       const std::string& slot, double value) {
  DataType dtype;
  PartialTensorShape shape;
  absl::Status s = VariableInfo(var, &dtype, &shape);
  if (s.ok() && !shape.IsFullyDefined()) {
    s = absl::InvalidArgumentError(absl::StrCat(
        "variable '", var.node()->name(), "' needs a fully defined shape for ",
        name_, "'s slots, got ", shape.DebugString()));
  }
  if (!s.ok()) {
    scope.UpdateStatus(s);
    return Output();
  }
  const std::string name = absl::StrCat(var.node()->name(), "/", slot);
  // One slot per (variable, slot) however many updates use it.
  auto [it, fresh] = made_.try_emplace(name);
  if (!fresh) return it->second;
  Scope at = scope.WithNoControlDependencies().ColocateWith(var);
  Output fill = grad::Filled(at, shape, value, dtype);
  if (IsResourceVariable(var)) {
    auto handle = ops::VarHandleOp(at.WithOpName(name), dtype, shape,
                                   ops::VarHandleOp::SharedName(name));
    inits_.push_back(
        ops::AssignVariableOp(at.WithOpName(name + "/Assign"), handle, fill)
            .operation);
    it->second = handle;
    return handle;
  }
  auto slot_var = ops::VariableV2(at.WithOpName(name), shape, dtype);
  inits_.push_back(
      ops::Assign(at.WithOpName(name + "/Assign"), slot_var, fill).operation);
  it->second = slot_var;
  return slot_var;
}

Output Optimizer::NonSlot(const Scope& scope, const Output& with,
                          const std::string& name, DataType dtype,
                          double value) {
  auto [it, fresh] = made_.try_emplace(name);
  if (!fresh) return it->second;
  Scope at = scope.WithNoControlDependencies().ColocateWith(with);
  auto v = ops::VariableV2(at.WithOpName(name), PartialTensorShape({}), dtype);
  inits_.push_back(ops::Assign(at.WithOpName(name + "/Assign"), v,
                               grad::Scalar(at, value, dtype))
                       .operation);
  it->second = v;
  return v;
}

Output Optimizer::LearningRate(const Scope& scope, double value,
                               DataType dtype) {
  if (learning_rate_tensor_.node() == nullptr)
    return grad::Scalar(scope, value, dtype);
  if (BaseType(learning_rate_tensor_.type()) == dtype) {
    return learning_rate_tensor_;
  }
  return ops::Cast(scope, learning_rate_tensor_, dtype);
}

absl::StatusOr<Operation> Optimizer::Apply(const Scope& scope,
                                           const std::string& op,
                                           const Output& var,
                                           const std::vector<Output>& inputs,
                                           const AttrMap& attrs) {
  NodeBuilder b(
      scope.ColocateWith(var),
      absl::StrCat(IsResourceVariable(var) ? "ResourceApply" : "Apply", op));
  b.Input(var);
  for (const Output& in : inputs) b.Input(in);
  for (const auto& [name, value] : attrs) b.Attr(name, value);
  Node* node = b.Finalize();
  RETURN_IF_ERROR(scope.status());
  return Operation(node);
}

absl::StatusOr<Operation> GradientDescentOptimizer::ApplyDense(
    const Scope& scope, const Output& grad, const Output& var) {
  return Apply(scope, "GradientDescent", var,
               {LearningRate(scope, learning_rate_, VariableDtype(var)), grad});
}

absl::StatusOr<Operation> AdagradOptimizer::ApplyDense(const Scope& scope,
                                                       const Output& grad,
                                                       const Output& var) {
  Output accum = Slot(scope, var, "Adagrad", initial_accumulator_value_);
  RETURN_IF_ERROR(scope.status());
  return Apply(
      scope, "Adagrad", var,
      {accum, LearningRate(scope, learning_rate_, VariableDtype(var)), grad});
}

absl::StatusOr<Operation> MomentumOptimizer::ApplyDense(const Scope& scope,
                                                        const Output& grad,
                                                        const Output& var) {
  Output accum = Slot(scope, var, "Momentum");
  RETURN_IF_ERROR(scope.status());
  const DataType t = VariableDtype(var);
  AttrMap attrs;
  attrs["use_nesterov"] = MakeAttr(use_nesterov_);
  return Apply(scope, "Momentum", var,
               {accum, LearningRate(scope, learning_rate_, t), grad,
                grad::Scalar(scope, momentum_, t)},
               attrs);
}

absl::Status AdamOptimizer::Prepare(
    const Scope& scope, const std::vector<GradAndVar>& grads_and_vars) {
  if (grads_and_vars.empty()) return absl::OkStatus();
  // The powers of beta1 and beta2 at this step, shared by every variable
  // and kept with the first one.
  const Output& first = grads_and_vars[0].second;
  Scope root = scope.WithNoControlDependencies();
  beta1_power_ =
      NonSlot(root, first, "beta1_power", VariableDtype(first), beta1_);
  beta2_power_ =
      NonSlot(root, first, "beta2_power", VariableDtype(first), beta2_);
  return scope.status();
}

absl::StatusOr<Operation> AdamOptimizer::ApplyDense(const Scope& scope,
                                                    const Output& grad,
                                                    const Output& var) {
  Output m = Slot(scope, var, "Adam");
  Output v = Slot(scope, var, "Adam_1");
  RETURN_IF_ERROR(scope.status());
  const DataType t = VariableDtype(var);
  Output b1p = beta1_power_, b2p = beta2_power_;
  if (t != VariableDtype(beta1_power_)) {
    b1p = ops::Cast(scope, b1p, t);
    b2p = ops::Cast(scope, b2p, t);
  }
  return Apply(scope, "Adam", var,
               {m, v, b1p, b2p, LearningRate(scope, learning_rate_, t),
                grad::Scalar(scope, beta1_, t), grad::Scalar(scope, beta2_, t),
                grad::Scalar(scope, epsilon_, t), grad});
}

absl::StatusOr<std::vector<Operation>> AdamOptimizer::Finish(
    const Scope& scope, const std::vector<Operation>& updates) {
  // After every variable's update: beta_power *= beta.
  Scope after = scope.WithControlDependencies(updates);
  const DataType t = VariableDtype(beta1_power_);
  auto b1 = ops::Assign(
      after.ColocateWith(beta1_power_), beta1_power_,
      ops::Mul(after, beta1_power_, grad::Scalar(after, beta1_, t)));
  auto b2 = ops::Assign(
      after.ColocateWith(beta2_power_), beta2_power_,
      ops::Mul(after, beta2_power_, grad::Scalar(after, beta2_, t)));
  RETURN_IF_ERROR(scope.status());
  std::vector<Operation> done = updates;
  done.push_back(b1.operation);
  done.push_back(b2.operation);
  return done;
}

}  // namespace rill
