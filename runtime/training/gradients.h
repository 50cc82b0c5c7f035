// Symbolic differentiation of graphs built with the C++ API, as TensorFlow's
// tensorflow/cc/framework/gradients does it.
//
// AddSymbolicGradients adds to the scope's graph the nodes that compute
// d(sum of outputs weighted by grad_inputs)/d(inputs). Each op's part comes
// from a gradient function registered by op name:
//
//   RILL_REGISTER_GRADIENT_OP("Tanh", TanhGrad);
//   RILL_REGISTER_NO_GRADIENT_OP("Shape");   // Nothing flows through it.
//
//   Scope root = Scope::NewRootScope();
//   ...
//   std::vector<Output> grads;
//   RETURN_IF_ERROR(AddSymbolicGradients(root, {loss}, {w, b}, &grads));
//
// Gradients only flow along data edges of differentiable dtypes (floating
// point); integer tensors, shapes and indices get none.
#ifndef RILL_RUNTIME_TRAINING_GRADIENTS_H_
#define RILL_RUNTIME_TRAINING_GRADIENTS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/cc/output.h"
#include "core/cc/scope.h"

namespace rill {

// What an input that no output depends on gets.
enum class UnconnectedGradients {
  kZero,  // ZerosLike(input), as TensorFlow's C++ API does.
  kNone,  // A null Output (node() == nullptr), as tf.gradients does.
};

// Adds gradient nodes under scope "gradients". grad_inputs has one entry
// per output (the gradient flowing into it); grad_outputs receives one
// entry per input. INVALID_ARGUMENT for mismatched lists, dtypes or graphs;
// UNIMPLEMENTED naming the op and node when a needed op has no gradient.
absl::Status AddSymbolicGradients(
    const Scope& scope, const std::vector<Output>& outputs,
    const std::vector<Output>& inputs, const std::vector<Output>& grad_inputs,
    std::vector<Output>* grad_outputs,
    UnconnectedGradients unconnected = UnconnectedGradients::kZero);

// The same with every grad_input OnesLike(output).
absl::Status AddSymbolicGradients(
    const Scope& scope, const std::vector<Output>& outputs,
    const std::vector<Output>& inputs, std::vector<Output>* grad_outputs,
    UnconnectedGradients unconnected = UnconnectedGradients::kZero);

// A gradient function gets the op and the gradient of each of its outputs
// (a null Output where none flows) and sets one gradient per data input (a
// null Output for none).
using GradFunc = absl::Status (*)(const Scope& scope, const Operation& op,
                                  const std::vector<Output>& grad_inputs,
                                  std::vector<Output>* grad_outputs);

class GradOpRegistry {
 public:
  static GradOpRegistry* Global();

  // ALREADY_EXISTS when the op already has a gradient or a declaration.
  absl::Status Register(const std::string& op, GradFunc fn);
  // Declares that no gradient flows through `op` (integer results, shapes,
  // state changes, random draws).
  absl::Status RegisterNoGradient(const std::string& op);

  // The op's function; nullptr (with *no_gradient set) for a declared
  // no-gradient op; NOT_FOUND when the op has neither.
  absl::StatusOr<GradFunc> Lookup(const std::string& op,
                                  bool* no_gradient) const;
  // Ops with a gradient function, and ops declared without one; sorted.
  std::vector<std::string> Differentiable() const;
  std::vector<std::string> NotDifferentiable() const;

 private:
  mutable absl::Mutex mu_;
  // nullptr marks a declared no-gradient op.
  absl::flat_hash_map<std::string, GradFunc> fns_ ABSL_GUARDED_BY(mu_);
};

namespace gradients_internal {
struct GradRegistrar {
  GradRegistrar(const char* op, GradFunc fn);
};
}  // namespace gradients_internal

#define RILL_REGISTER_GRADIENT_OP(name, fn) \
  RILL_REGISTER_GRADIENT_OP_UNIQ_(__COUNTER__, name, fn)
#define RILL_REGISTER_NO_GRADIENT_OP(name) \
  RILL_REGISTER_GRADIENT_OP_UNIQ_(__COUNTER__, name, nullptr)
#define RILL_REGISTER_GRADIENT_OP_UNIQ_(ctr, name, fn) \
  RILL_REGISTER_GRADIENT_OP_UNIQ2_(ctr, name, fn)
#define RILL_REGISTER_GRADIENT_OP_UNIQ2_(ctr, name, fn)  \
  static const ::rill::gradients_internal::GradRegistrar \
      rill_grad_registrar_##ctr [[maybe_unused]] (name, fn)

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_GRADIENTS_H_
