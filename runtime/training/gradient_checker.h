// The numerical gradient checker: compares the Jacobian that
// AddSymbolicGradients' nodes compute with central differences, in float64.
//
//   Scope s = Scope::NewRootScope();
//   auto x = ops::Placeholder(s, DT_DOUBLE);
//   auto y = ops::Tanh(s, x);
//   ASSIGN_OR_RETURN(double err, MaxGradientError(s, {x}, {x0}, y));
//
// Every x must be a float64 Placeholder; x_values gives the point. The
// symbolic Jacobian takes one step per element of y (fed a one-hot
// gradient), the numerical one two steps per element of the xs: keep the
// tensors small.
#ifndef RILL_RUNTIME_TRAINING_GRADIENT_CHECKER_H_
#define RILL_RUNTIME_TRAINING_GRADIENT_CHECKER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/cc/output.h"
#include "core/cc/scope.h"
#include "core/framework/tensor.h"

namespace rill {

// The largest absolute difference between a symbolic and a numerical
// Jacobian entry of y with respect to the xs. Adds the gradient nodes to
// the scope's graph.
absl::StatusOr<double> MaxGradientError(const Scope& scope,
                                        const std::vector<Output>& xs,
                                        const std::vector<Tensor>& x_values,
                                        const Output& y, double delta = 1e-6);

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_GRADIENT_CHECKER_H_
