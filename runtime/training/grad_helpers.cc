#include "runtime/training/grad_helpers.h"

namespace rill::grad {

Output In(const Operation& op, int i) {
  const Edge* e = op.node()->input_edge(i);
  return Output(e->src, e->src_output);
}

Output Filled(const Scope& scope, const PartialTensorShape& shape, double value,
              DataType type) {
  std::vector<int64_t> dims(shape.dim_sizes().begin(), shape.dim_sizes().end());
  return ops::Fill(scope,
                   Tensor::FromVector<int64_t>(
                       dims, TensorShape({static_cast<int64_t>(dims.size())})),
                   Scalar(scope, value, type));
}

Output Scalar(const Scope& scope, double value, DataType type) {
  switch (BaseType(type)) {
    case DT_DOUBLE:
      return ops::Const(scope, value);
    case DT_INT32:
      return ops::Const(scope, static_cast<int32_t>(value));
    case DT_INT64:
      return ops::Const(scope, static_cast<int64_t>(value));
    case DT_FLOAT:
      return ops::Const(scope, static_cast<float>(value));
    default:  // half, bfloat16: from float.
      return ops::Cast(scope, ops::Const(scope, static_cast<float>(value)),
                       BaseType(type));
  }
}

Output GradOrZeros(const Scope& scope, const Operation& op,
                   const std::vector<Output>& grads, int i) {
  if (grads[i].node() != nullptr) return grads[i];
  return ops::ZerosLike(scope, Output(op.node(), i));
}

Output ReducedShape(const Scope& scope, const Output& input_shape,
                    const Output& axes) {
  // axes mod rank, then stitch [0..rank) -> shape with axes -> 1.
  auto rank = ops::Size(scope, input_shape);
  auto positive = ops::FloorMod(scope, axes, rank);
  return ops::DynamicStitch(scope, {ops::Range(scope, 0, rank, 1), positive},
                            {input_shape, ops::OnesLike(scope, positive)});
}

void ReduceToInputShapes(const Scope& scope, const Output& x, const Output& y,
                         const Output& gx, const Output& gy,
                         std::vector<Output>* out) {
  auto sx = ops::Shape(scope, x);
  auto sy = ops::Shape(scope, y);
  auto r = ops::BroadcastGradientArgs(scope, sx, sy);
  out->push_back(
      gx.node() == nullptr
          ? Output()
          : Output(ops::Reshape(scope, ops::Sum(scope, gx, r.r0), sx)));
  out->push_back(
      gy.node() == nullptr
          ? Output()
          : Output(ops::Reshape(scope, ops::Sum(scope, gy, r.r1), sy)));
}

Output OpWithAttrsOf(const Scope& scope, const std::string& op_name,
                     const std::vector<Output>& inputs, const Node* from,
                     std::initializer_list<const char*> attrs) {
  NodeBuilder b(scope, op_name);
  for (const Output& in : inputs) b.Input(in);
  for (const char* a : attrs) {
    auto it = from->attrs().find(a);
    if (it != from->attrs().end()) b.Attr(a, it->second);
  }
  return Output(b.Finalize(), 0);
}

std::vector<Output> NoGradients(const Operation& op) {
  return std::vector<Output>(op.node()->num_inputs());
}

bool IsVariableNode(const Node* n) {
  return n->op() == "VariableV2" || n->op() == "VarHandleOp";
}

bool IsResourceVariable(const Output& var) {
  return var.node()->op() == "VarHandleOp";
}

DataType VariableDtype(const Output& var) {
  DataType dtype = DT_INVALID;
  (void)GetAttr(var.node()->attrs(), "dtype", &dtype);
  return dtype;
}

}  // namespace rill::grad
