// Gradients of the TensorArrayV3 ops, as TensorFlow writes them: each
// forward array has a gradient array (TensorArrayGradV3, one per gradient
// computation, named by its scope), and the gradient of each op is the
// opposite op on that array: a read's gradient writes it, a write's reads
// it, gather and scatter swap, and so do concat and split. The flow
// tensors order them: a write's gradient reads only after every gradient
// write the flow it receives comes from. Writes to one index of a
// gradient array add up (the gradients of several reads of an element).
#include <string>

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"

namespace rill {
namespace {

using grad::In;

using Grads = std::vector<Output>;

// The scope of the whole gradient computation ("gradients", "gradients_1"):
// the gradient function's own scope less its "<node>_grad" part. Each
// computation gets its own gradient arrays.
std::string GradSource(const Scope& s, const Operation& op) {
  const std::string& prefix = s.name_prefix();
  const size_t at = prefix.rfind("/" + op.node()->name() + "_grad");
  return at == std::string::npos ? prefix : prefix.substr(0, at);
}

// The gradient array of op's array (input 0), after `flow`.
ops::TensorArrayGradV3 GradArray(const Scope& s, const Operation& op,
                                 const Output& flow) {
  return ops::TensorArrayGradV3(s, In(op, 0), flow, GradSource(s, op));
}

DataType Attr(const Operation& op, const char* name) {
  DataType t = DT_INVALID;
  (void)GetAttr(op.node()->attrs(), name, &t);
  return t;
}

// Read(handle, index, flow_in): the gradient is written to the index.
absl::Status ReadGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  if (g[0].node() == nullptr) {
    *dx = grad::NoGradients(op);
    return s.status();
  }
  auto ga = GradArray(s, op, In(op, 2));
  Output flow =
      ops::TensorArrayWriteV3(s, ga.grad_handle, In(op, 1), g[0], ga.flow_out);
  *dx = {Output(), Output(), flow};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TensorArrayReadV3", ReadGrad);

// Write(handle, index, value, flow_in): the value's gradient is read back
// from the index.
absl::Status WriteGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  if (g[0].node() == nullptr) {
    *dx = grad::NoGradients(op);
    return s.status();
  }
  auto ga = GradArray(s, op, g[0]);
  Output value = ops::TensorArrayReadV3(s, ga.grad_handle, In(op, 1),
                                        ga.flow_out, Attr(op, "T"));
  *dx = {Output(), Output(), value, g[0]};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TensorArrayWriteV3", WriteGrad);

// Gather(handle, indices, flow_in): the gradient's rows are scattered.
absl::Status GatherGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  if (g[0].node() == nullptr) {
    *dx = grad::NoGradients(op);
    return s.status();
  }
  auto ga = GradArray(s, op, In(op, 2));
  Output flow = ops::TensorArrayScatterV3(s, ga.grad_handle, In(op, 1), g[0],
                                          ga.flow_out);
  *dx = {Output(), Output(), flow};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TensorArrayGatherV3", GatherGrad);

// Scatter(handle, indices, value, flow_in): the value's rows are gathered.
absl::Status ScatterGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  if (g[0].node() == nullptr) {
    *dx = grad::NoGradients(op);
    return s.status();
  }
  auto ga = GradArray(s, op, g[0]);
  Output value = ops::TensorArrayGatherV3(s, ga.grad_handle, In(op, 1),
                                          ga.flow_out, Attr(op, "T"));
  *dx = {Output(), Output(), value, g[0]};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TensorArrayScatterV3", ScatterGrad);

// Concat(handle, flow_in) -> (value, lengths): the gradient is split by
// the lengths.
absl::Status ConcatGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  if (g[0].node() == nullptr) {
    *dx = grad::NoGradients(op);
    return s.status();
  }
  auto ga = GradArray(s, op, In(op, 1));
  Output flow = ops::TensorArraySplitV3(s, ga.grad_handle, g[0], Output(op, 1),
                                        ga.flow_out);
  *dx = {Output(), flow};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TensorArrayConcatV3", ConcatGrad);

// Split(handle, value, lengths, flow_in): the value's gradient is the
// gradient array concatenated.
absl::Status SplitGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  if (g[0].node() == nullptr) {
    *dx = grad::NoGradients(op);
    return s.status();
  }
  auto ga = GradArray(s, op, g[0]);
  Output value =
      ops::TensorArrayConcatV3(s, ga.grad_handle, ga.flow_out, Attr(op, "T"))
          .value;
  *dx = {Output(), value, Output(), g[0]};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TensorArraySplitV3", SplitGrad);

// Making, sizing and closing arrays, and the gradient arrays themselves,
// pass no gradient (TensorFlow declares the same).
RILL_REGISTER_NO_GRADIENT_OP("TensorArrayV3");
RILL_REGISTER_NO_GRADIENT_OP("TensorArrayGradV3");
RILL_REGISTER_NO_GRADIENT_OP("TensorArrayGradWithShape");
RILL_REGISTER_NO_GRADIENT_OP("TensorArraySizeV3");
RILL_REGISTER_NO_GRADIENT_OP("TensorArrayCloseV3");
// Stacks hold the forward values that v1 loop gradients use; a gradient
// never flows through them.
RILL_REGISTER_NO_GRADIENT_OP("StackV2");
RILL_REGISTER_NO_GRADIENT_OP("StackPushV2");
RILL_REGISTER_NO_GRADIENT_OP("StackPopV2");
RILL_REGISTER_NO_GRADIENT_OP("StackCloseV2");

}  // namespace
}  // namespace rill
