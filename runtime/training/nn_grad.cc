// Gradients of the neural-network ops: activations, softmax and the
// cross-entropies, BiasAdd, Conv2D and pooling, and the second derivatives
// of their gradient ops.
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"

namespace rill {
namespace {

using grad::In;
using grad::OpWithAttrsOf;

using Grads = std::vector<Output>;

absl::Status ReluGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  dx->push_back(ops::ReluGrad(s, g[0], Output(op.node(), 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Relu", ReluGrad);

absl::Status Relu6Grad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  dx->push_back(ops::Relu6Grad(s, g[0], In(op, 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Relu6", Relu6Grad);

absl::Status EluGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::EluGrad(s, g[0], Output(op.node(), 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Elu", EluGrad);

absl::Status SeluGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  dx->push_back(ops::SeluGrad(s, g[0], Output(op.node(), 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Selu", SeluGrad);

absl::Status LeakyReluGrad(const Scope& s, const Operation& op, const Grads& g,
                           Grads* dx) {
  dx->push_back(OpWithAttrsOf(s, "LeakyReluGrad", {g[0], In(op, 0)}, op.node(),
                              {"alpha"}));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("LeakyRelu", LeakyReluGrad);

// The piecewise-linear activations' gradient ops are linear in the
// incoming gradient and flat in the features.
template <const char* kOp>
absl::Status PiecewiseLinearGradGrad(const Scope& s, const Operation& op,
                                     const Grads& g, Grads* dx) {
  dx->push_back(OpWithAttrsOf(s, kOp, {g[0], In(op, 1)}, op.node(), {"alpha"}));
  dx->push_back(ops::ZerosLike(s, In(op, 1)));
  return s.status();
}
constexpr char kReluGrad[] = "ReluGrad";
constexpr char kRelu6Grad[] = "Relu6Grad";
constexpr char kLeakyReluGrad[] = "LeakyReluGrad";
RILL_REGISTER_GRADIENT_OP("ReluGrad", PiecewiseLinearGradGrad<kReluGrad>);
RILL_REGISTER_GRADIENT_OP("Relu6Grad", PiecewiseLinearGradGrad<kRelu6Grad>);
RILL_REGISTER_GRADIENT_OP("LeakyReluGrad",
                          PiecewiseLinearGradGrad<kLeakyReluGrad>);

// EluGrad(dy, y) = dy where y > 0, dy * (y + 1) elsewhere; SeluGrad(dy, y)
// = scale * dy where y > 0, dy * (y + scale * alpha) elsewhere. Both are
// linear in dy, and their slope in y is dy where y <= 0.
template <const char* kOp>
absl::Status ExponentialLinearGradGrad(const Scope& s, const Operation& op,
                                       const Grads& g, Grads* dx) {
  Output dy = In(op, 0), y = In(op, 1);
  dx->push_back(OpWithAttrsOf(s, kOp, {g[0], y}, op.node(), {}));
  auto negative = ops::LessEqual(s, y, ops::ZerosLike(s, y));
  dx->push_back(
      ops::SelectV2(s, negative, ops::Mul(s, g[0], dy), ops::ZerosLike(s, y)));
  return s.status();
}
constexpr char kEluGrad[] = "EluGrad";
constexpr char kSeluGrad[] = "SeluGrad";
RILL_REGISTER_GRADIENT_OP("EluGrad", ExponentialLinearGradGrad<kEluGrad>);
RILL_REGISTER_GRADIENT_OP("SeluGrad", ExponentialLinearGradGrad<kSeluGrad>);

// FusedBatchNormV3: FusedBatchNormGradV3 with what the forward op kept (in
// training, the batch's statistics in reserve_space_1/2; in inference, the
// population statistics it was given). No gradient reaches the mean and
// variance inputs, as in TensorFlow.
absl::Status FusedBatchNormGrad(const Scope& s, const Operation& op,
                                const Grads& g, Grads* dx) {
  bool training = true;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "is_training", &training));
  Output mean = training ? Output(op.node(), 3) : In(op, 3);
  Output variance = training ? Output(op.node(), 4) : In(op, 4);
  Output grad =
      OpWithAttrsOf(s, "FusedBatchNormGradV3",
                    {grad::GradOrZeros(s, op, g, 0), In(op, 0), In(op, 1), mean,
                     variance, Output(op.node(), 5)},
                    op.node(), {"epsilon", "data_format", "is_training"});
  for (int i = 0; i < 3; ++i) dx->push_back(Output(grad.node(), i));
  dx->push_back(Output());
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("FusedBatchNormV3", FusedBatchNormGrad);

// TensorFlow differentiates FusedBatchNormGradV3 once more (batch norm
// under a gradient penalty); Rill does not yet.
absl::Status FusedBatchNormGradGrad(const Scope& s, const Operation& op,
                                    const Grads& g, Grads* dx) {
  return absl::UnimplementedError(
      absl::StrCat("the second derivative of FusedBatchNormV3 (gradient of "
                   "node '",
                   op.node()->name(), "') is not implemented"));
}
RILL_REGISTER_GRADIENT_OP("FusedBatchNormGradV3", FusedBatchNormGradGrad);

// Softmax: dx = (g - sum(g * y, -1)) * y.
absl::Status SoftmaxGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  Output y = Output(op.node(), 0);
  auto dot = ops::Sum(s, ops::Mul(s, g[0], y), {-1}, ops::Sum::KeepDims(true));
  dx->push_back(ops::Mul(s, ops::Sub(s, g[0], dot), y));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Softmax", SoftmaxGrad);

// LogSoftmax: dx = g - sum(g, -1) * exp(y).
absl::Status LogSoftmaxGrad(const Scope& s, const Operation& op, const Grads& g,
                            Grads* dx) {
  Output y = Output(op.node(), 0);
  auto total = ops::Sum(s, g[0], {-1}, ops::Sum::KeepDims(true));
  dx->push_back(ops::Sub(s, g[0], ops::Mul(s, total, ops::Exp(s, y))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("LogSoftmax", LogSoftmaxGrad);

// The gradient of the cross-entropies' logits: the loss gradient times
// backprop (softmax - labels), plus, when a gradient reaches the backprop
// output too, that gradient through the softmax's Jacobian.
Output LogitsGrad(const Scope& s, const Operation& op, const Grads& g) {
  Output logits = In(op, 0);
  Output dlogits;
  if (g[0].node() != nullptr) {
    dlogits = ops::Mul(s, ops::ExpandDims(s, g[0], -1), Output(op.node(), 1));
  }
  if (g[1].node() != nullptr) {
    auto softmax = ops::Softmax(s, logits);
    auto dot =
        ops::Sum(s, ops::Mul(s, g[1], softmax), {-1}, ops::Sum::KeepDims(true));
    Output through = ops::Mul(s, ops::Sub(s, g[1], dot), softmax);
    dlogits = dlogits.node() == nullptr
                  ? through
                  : Output(ops::AddV2(s, dlogits, through));
  }
  return dlogits;
}

absl::Status SoftmaxCrossEntropyGrad(const Scope& s, const Operation& op,
                                     const Grads& g, Grads* dx) {
  dx->push_back(LogitsGrad(s, op, g));
  // loss = -sum(labels * log_softmax(logits)); backprop = softmax - labels.
  Output dlabels;
  if (g[0].node() != nullptr) {
    dlabels = ops::Mul(s, ops::ExpandDims(s, g[0], -1),
                       ops::Neg(s, ops::LogSoftmax(s, In(op, 0))));
  }
  if (g[1].node() != nullptr) {
    Output neg = ops::Neg(s, g[1]);
    dlabels =
        dlabels.node() == nullptr ? neg : Output(ops::AddV2(s, dlabels, neg));
  }
  dx->push_back(dlabels);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SoftmaxCrossEntropyWithLogits",
                          SoftmaxCrossEntropyGrad);

absl::Status SparseSoftmaxCrossEntropyGrad(const Scope& s, const Operation& op,
                                           const Grads& g, Grads* dx) {
  dx->push_back(LogitsGrad(s, op, g));
  dx->push_back(Output());  // Integer labels.
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SparseSoftmaxCrossEntropyWithLogits",
                          SparseSoftmaxCrossEntropyGrad);

absl::Status BiasAddGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  dx->push_back(g[0]);
  dx->push_back(
      OpWithAttrsOf(s, "BiasAddGrad", {g[0]}, op.node(), {"data_format"}));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("BiasAdd", BiasAddGrad);

// BiasAddGrad sums over all but the channel dim: its gradient broadcasts
// back along them.
absl::Status BiasAddGradGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  std::string format;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "data_format", &format));
  Output dy = In(op, 0);
  auto shape = ops::Shape(s, dy);
  Output bias = g[0];
  if (format == "NCHW") {
    // [C] -> [1, C, 1, ..., 1].
    auto ones =
        ops::Fill(s, ops::Reshape(s, ops::Sub(s, ops::Rank(s, dy), 2), {1}), 1);
    bias = ops::Reshape(
        s, bias,
        ops::ConcatV2(s, {ops::Const(s, {1}), ops::Shape(s, bias), ones}, 0));
  }
  dx->push_back(ops::BroadcastTo(s, bias, shape));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("BiasAddGrad", BiasAddGradGrad);

constexpr std::initializer_list<const char*> kConvAttrs = {
    "strides",     "padding",   "explicit_paddings",
    "data_format", "dilations", "use_cudnn_on_gpu"};

absl::Status Conv2DGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  Output x = In(op, 0), w = In(op, 1);
  dx->push_back(OpWithAttrsOf(s, "Conv2DBackpropInput",
                              {ops::Shape(s, x), w, g[0]}, op.node(),
                              kConvAttrs));
  dx->push_back(OpWithAttrsOf(s, "Conv2DBackpropFilter",
                              {x, ops::Shape(s, w), g[0]}, op.node(),
                              kConvAttrs));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Conv2D", Conv2DGrad);

// Conv2DBackpropInput(sizes, w, dy) is linear in w and in dy.
absl::Status Conv2DBackpropInputGrad(const Scope& s, const Operation& op,
                                     const Grads& g, Grads* dx) {
  Output w = In(op, 1), dy = In(op, 2);
  dx->push_back(Output());
  dx->push_back(OpWithAttrsOf(s, "Conv2DBackpropFilter",
                              {g[0], ops::Shape(s, w), dy}, op.node(),
                              kConvAttrs));
  dx->push_back(OpWithAttrsOf(s, "Conv2D", {g[0], w}, op.node(), kConvAttrs));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Conv2DBackpropInput", Conv2DBackpropInputGrad);

// Conv2DBackpropFilter(x, sizes, dy) is linear in x and in dy.
absl::Status Conv2DBackpropFilterGrad(const Scope& s, const Operation& op,
                                      const Grads& g, Grads* dx) {
  Output x = In(op, 0), dy = In(op, 2);
  dx->push_back(OpWithAttrsOf(s, "Conv2DBackpropInput",
                              {ops::Shape(s, x), g[0], dy}, op.node(),
                              kConvAttrs));
  dx->push_back(Output());
  dx->push_back(OpWithAttrsOf(s, "Conv2D", {x, g[0]}, op.node(), kConvAttrs));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Conv2DBackpropFilter", Conv2DBackpropFilterGrad);

constexpr std::initializer_list<const char*> kPoolAttrs = {
    "ksize", "strides", "padding", "data_format"};

absl::Status MaxPoolGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  dx->push_back(OpWithAttrsOf(s, "MaxPoolGrad",
                              {In(op, 0), Output(op.node(), 0), g[0]},
                              op.node(), kPoolAttrs));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("MaxPool", MaxPoolGrad);

absl::Status AvgPoolGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  dx->push_back(OpWithAttrsOf(s, "AvgPoolGrad",
                              {ops::Shape(s, In(op, 0)), g[0]}, op.node(),
                              kPoolAttrs));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("AvgPool", AvgPoolGrad);

// AvgPoolGrad is linear in its gradient input; its adjoint is AvgPool.
absl::Status AvgPoolGradGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  dx->push_back(Output());
  dx->push_back(OpWithAttrsOf(s, "AvgPool", {g[0]}, op.node(), kPoolAttrs));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("AvgPoolGrad", AvgPoolGradGrad);

// MaxPoolGrad(x, y, dy) routes dy to each window's maximum: linear in dy,
// with the adjoint gathering the gradient at the maxima (TensorFlow's
// MaxPoolGradGrad kernel), which Rill does not have yet.
absl::Status MaxPoolGradGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  return absl::UnimplementedError(
      absl::StrCat("the second derivative of MaxPool (gradient of node '",
                   op.node()->name(), "') is not implemented"));
}
RILL_REGISTER_GRADIENT_OP("MaxPoolGrad", MaxPoolGradGrad);

}  // namespace
}  // namespace rill
