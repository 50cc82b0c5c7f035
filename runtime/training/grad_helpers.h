// Helpers shared by the gradient functions (math_grad.cc, nn_grad.cc,
// array_grad.cc) and the optimizers. Internal to runtime/training.
#ifndef RILL_RUNTIME_TRAINING_GRAD_HELPERS_H_
#define RILL_RUNTIME_TRAINING_GRAD_HELPERS_H_

#include <initializer_list>
#include <string>
#include <vector>

#include "core/cc/node_builder.h"
#include "core/cc/ops.h"
#include "runtime/training/gradients.h"

namespace rill::grad {

// The tensor feeding data input i of op.
Output In(const Operation& op, int i);

// A scalar constant of dtype `type` (float, double, int32, int64; half and
// bfloat16 through a Cast).
Output Scalar(const Scope& scope, double value, DataType type);

// A tensor of the fully defined `shape` filled with `value` (a variable's
// initial value: an optimizer's slot, an accumulator).
Output Filled(const Scope& scope, const PartialTensorShape& shape, double value,
              DataType type);

// grads[i], or zeros shaped like op's output i when no gradient reached it.
Output GradOrZeros(const Scope& scope, const Operation& op,
                   const std::vector<Output>& grads, int i);

// The shape of `input_shape` with the dims in `axes` (any sign, int32)
// set to 1: what a reduction with keep_dims would give.
Output ReducedShape(const Scope& scope, const Output& input_shape,
                    const Output& axes);

// gx and gy (of the broadcast shape) summed down to x's and y's shapes;
// appended to *out. A null gradient stays null.
void ReduceToInputShapes(const Scope& scope, const Output& x, const Output& y,
                         const Output& gx, const Output& gy,
                         std::vector<Output>* out);

// An op named `op_name` with `inputs`, copying the listed attrs of `from`
// (TensorFlow's strides/padding/... of a forward op onto its gradient op).
Output OpWithAttrsOf(const Scope& scope, const std::string& op_name,
                     const std::vector<Output>& inputs, const Node* from,
                     std::initializer_list<const char*> attrs);

// No gradient flows to any of op's inputs.
std::vector<Output> NoGradients(const Operation& op);

// Variables: VariableV2 (ref) and VarHandleOp (resource) nodes.
bool IsVariableNode(const Node* n);
bool IsResourceVariable(const Output& var);
// The dtype a variable node was declared with; DT_INVALID when it has none.
DataType VariableDtype(const Output& var);

}  // namespace rill::grad

#endif  // RILL_RUNTIME_TRAINING_GRAD_HELPERS_H_
