// Optimizers in the style of tf.compat.v1.train: GradientDescent, Momentum,
// Adagrad and Adam. Minimize(loss) adds the gradient nodes, one Apply* update
// per variable (ResourceApply* for resource variables), the optimizer's slot
// variables (colocated with their variable), and an increment of the
// global step after the updates:
//
//   Operation init_step;
//   Output step = CreateGlobalStep(root, &init_step);
//   AdamOptimizer adam(0.01);
//   ASSIGN_OR_RETURN(Operation train, adam.Minimize(root, loss, {.global_step =
//   step}));
//   // Run adam.initializers() and init_step once, then `train` per step.
//
// Optimizers are not thread-safe; build with one from one thread.
#ifndef RILL_RUNTIME_TRAINING_OPTIMIZER_H_
#define RILL_RUNTIME_TRAINING_OPTIMIZER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/cc/output.h"
#include "core/cc/scope.h"

namespace rill {

// An int64 scalar variable "global_step" and its initializer (to 0).
Output CreateGlobalStep(const Scope& scope, Operation* initializer);

// The variables (VariableV2 and VarHandleOp outputs) of a floating dtype
// that `loss` depends on, in the order they were added to the graph.
std::vector<Output> VariablesOf(const Output& loss);

struct MinimizeOptions {
  // The variables to train; every variable loss depends on when empty.
  std::vector<Output> var_list;
  // When set, incremented by one after every step's updates.
  Output global_step;
  // The name of the returned op; the optimizer's name when empty.
  std::string name;
};

class Optimizer {
 public:
  using GradAndVar = std::pair<Output, Output>;

  explicit Optimizer(std::string name) : name_(std::move(name)) {}
  virtual ~Optimizer() = default;

  // d loss / d var for each variable; variables loss does not depend on
  // are left out. INVALID_ARGUMENT when no variable gets a gradient.
  absl::StatusOr<std::vector<GradAndVar>> ComputeGradients(
      const Scope& scope, const Output& loss,
      const std::vector<Output>& var_list = {});
  // One update per (gradient, variable), each after all the gradients are
  // computed (so no update races with the backward pass's reads of the
  // variables), then the global step increment; returns an op that runs
  // them all.
  absl::StatusOr<Operation> ApplyGradients(
      const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
      const MinimizeOptions& options = {});
  absl::StatusOr<Operation> Minimize(const Scope& scope, const Output& loss,
                                     const MinimizeOptions& options = {});

  // The initializers of the slot and accumulator variables made so far:
  // run them once before training (with the model's own initializers).
  const std::vector<Operation>& initializers() const { return inits_; }
  const std::string& name() const { return name_; }

  // Takes the learning rate from a scalar tensor instead of the constant
  // given at construction (a placeholder fed each step, or a schedule
  // computed from the global step).
  void SetLearningRate(const Output& learning_rate) {
    learning_rate_tensor_ = learning_rate;
  }

 protected:
  // Adds the update of `var` by `grad` (one Apply*/ResourceApply* node).
  virtual absl::StatusOr<Operation> ApplyDense(const Scope& scope,
                                               const Output& grad,
                                               const Output& var) = 0;
  // Called before the updates (to make shared accumulators) and after them
  // (to update those, returning the ops to wait for).
  virtual absl::Status Prepare(const Scope& scope,
                               const std::vector<GradAndVar>& grads_and_vars) {
    return absl::OkStatus();
  }
  virtual absl::StatusOr<std::vector<Operation>> Finish(
      const Scope& scope, const std::vector<Operation>& updates) {
    return updates;
  }

  // A variable of var's kind (ref or resource), shape and dtype named
  // "<var>/<slot>", colocated with var, initialized to `value`.
  Output Slot(const Scope& scope, const Output& var, const std::string& slot,
              double value = 0.0);
  // A scalar variable of `dtype` colocated with `with`, initialized to
  // `value` (Adam's beta powers).
  Output NonSlot(const Scope& scope, const Output& with,
                 const std::string& name, DataType dtype, double value);
  // The learning rate as a scalar of `dtype`: the tensor set by
  // SetLearningRate (cast when needed), else the constant `value`.
  Output LearningRate(const Scope& scope, double value, DataType dtype);
  // The Apply<op> or ResourceApply<op> node for var with these inputs.
  absl::StatusOr<Operation> Apply(const Scope& scope, const std::string& op,
                                  const Output& var,
                                  const std::vector<Output>& inputs,
                                  const AttrMap& attrs = {});

 private:
  std::string name_;
  std::vector<Operation> inits_;
  // The slot and non-slot variables made, by name: an update applied again
  // to the same variable (ApplyGradients called once per worker, as
  // asynchronous parameter servers do) shares them, as TensorFlow's
  // optimizers do.
  absl::flat_hash_map<std::string, Output> made_;
  Output learning_rate_tensor_;
};

class GradientDescentOptimizer : public Optimizer {
 public:
  explicit GradientDescentOptimizer(double learning_rate)
      : Optimizer("GradientDescent"), learning_rate_(learning_rate) {}

 protected:
  absl::StatusOr<Operation> ApplyDense(const Scope& scope, const Output& grad,
                                       const Output& var) override;

 private:
  double learning_rate_;
};

class MomentumOptimizer : public Optimizer {
 public:
  MomentumOptimizer(double learning_rate, double momentum,
                    bool use_nesterov = false)
      : Optimizer("Momentum"),
        learning_rate_(learning_rate),
        momentum_(momentum),
        use_nesterov_(use_nesterov) {}

 protected:
  absl::StatusOr<Operation> ApplyDense(const Scope& scope, const Output& grad,
                                       const Output& var) override;

 private:
  double learning_rate_, momentum_;
  bool use_nesterov_;
};

class AdagradOptimizer : public Optimizer {
 public:
  explicit AdagradOptimizer(double learning_rate,
                            double initial_accumulator_value = 0.1)
      : Optimizer("Adagrad"),
        learning_rate_(learning_rate),
        initial_accumulator_value_(initial_accumulator_value) {}

 protected:
  absl::StatusOr<Operation> ApplyDense(const Scope& scope, const Output& grad,
                                       const Output& var) override;

 private:
  double learning_rate_, initial_accumulator_value_;
};

class AdamOptimizer : public Optimizer {
 public:
  explicit AdamOptimizer(double learning_rate = 0.001, double beta1 = 0.9,
                         double beta2 = 0.999, double epsilon = 1e-8)
      : Optimizer("Adam"),
        learning_rate_(learning_rate),
        beta1_(beta1),
        beta2_(beta2),
        epsilon_(epsilon) {}

 protected:
  absl::StatusOr<Operation> ApplyDense(const Scope& scope, const Output& grad,
                                       const Output& var) override;
  absl::Status Prepare(const Scope& scope,
                       const std::vector<GradAndVar>& grads_and_vars) override;
  absl::StatusOr<std::vector<Operation>> Finish(
      const Scope& scope, const std::vector<Operation>& updates) override;

 private:
  double learning_rate_, beta1_, beta2_, epsilon_;
  Output beta1_power_, beta2_power_;
};

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_OPTIMIZER_H_
