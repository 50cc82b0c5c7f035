// Gradients of the math ops: element-wise arithmetic (with broadcasting),
// matrix products, reductions, casts and selections. Each follows the
// derivative TensorFlow's gradient for the op computes.
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"

namespace rill {
namespace {

using grad::In;
using grad::ReduceToInputShapes;
using grad::Scalar;

using Grads = std::vector<Output>;

// --- Unary ops: dx = g * f'(x), written with the op's output y where
// that is cheaper (TensorFlow's choice too).

absl::Status NegGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Neg(s, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Neg", NegGrad);

absl::Status AbsGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Sign(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Abs", AbsGrad);

// L2Loss(t) = sum(t^2) / 2: dt = t * g.
absl::Status L2LossGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  dx->push_back(ops::Mul(s, In(op, 0), g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("L2Loss", L2LossGrad);

// Erf: 2/sqrt(pi) e^(-x^2); Erfc its negative.
template <int kSign>
absl::Status ErfGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  Output x = In(op, 0);
  auto slope = ops::Mul(s, Scalar(s, kSign * 1.1283791670955126, x.type()),
                        ops::Exp(s, ops::Neg(s, ops::Square(s, x))));
  dx->push_back(ops::Mul(s, g[0], slope));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Erf", ErfGrad<1>);
RILL_REGISTER_GRADIENT_OP("Erfc", ErfGrad<-1>);

// Trigonometric and hyperbolic functions and expm1: g times the
// derivative, written with the input x (or, for the inverse hyperbolic
// ones, the output y as TensorFlow does).
absl::Status SinGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Cos(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Sin", SinGrad);

absl::Status CosGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Neg(s, ops::Mul(s, g[0], ops::Sin(s, In(op, 0)))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Cos", CosGrad);

// 1 / cos(x)^2.
absl::Status TanGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Mul(
      s, g[0], ops::Reciprocal(s, ops::Square(s, ops::Cos(s, In(op, 0))))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Tan", TanGrad);

// +-1 / sqrt(1 - x^2).
template <int kSign>
absl::Status AsinGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  Output x = In(op, 0);
  auto root =
      ops::Sqrt(s, ops::Sub(s, Scalar(s, 1.0, x.type()), ops::Square(s, x)));
  auto slope = ops::Reciprocal(s, root);
  dx->push_back(kSign > 0 ? Output(ops::Mul(s, g[0], slope))
                          : Output(ops::Neg(s, ops::Mul(s, g[0], slope))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Asin", AsinGrad<1>);
RILL_REGISTER_GRADIENT_OP("Acos", AsinGrad<-1>);

// 1 / (1 + x^2); Atanh: 1 / (1 - x^2).
template <int kSign>
absl::Status AtanGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  Output x = In(op, 0);
  auto square = ops::Square(s, x);
  Output one = Scalar(s, 1.0, x.type());
  auto denominator = kSign > 0 ? Output(ops::Add(s, one, square))
                               : Output(ops::Sub(s, one, square));
  dx->push_back(ops::Div(s, g[0], denominator));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Atan", AtanGrad<1>);
RILL_REGISTER_GRADIENT_OP("Atanh", AtanGrad<-1>);

absl::Status SinhGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Cosh(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Sinh", SinhGrad);

absl::Status CoshGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Sinh(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Cosh", CoshGrad);

// Asinh: 1 / cosh(y); Acosh: 1 / sinh(y).
absl::Status AsinhGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  dx->push_back(ops::Div(s, g[0], ops::Cosh(s, Output(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Asinh", AsinhGrad);

absl::Status AcoshGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  dx->push_back(ops::Div(s, g[0], ops::Sinh(s, Output(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Acosh", AcoshGrad);

absl::Status Expm1Grad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Exp(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Expm1", Expm1Grad);

// SparseSegmentSum/Mean/SqrtN: their *Grad ops send each segment's
// gradient back to the data rows it came from.
template <const char* kGradOp>
absl::Status SparseSegmentGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  auto rows =
      ops::Cast(s,
                ops::StridedSlice(s, ops::Shape(s, In(op, 0)), {0}, {1}, {1},
                                  ops::StridedSlice::ShrinkAxisMask(1)),
                DT_INT32);
  dx->push_back(grad::OpWithAttrsOf(s, kGradOp,
                                    {g[0], In(op, 1), In(op, 2), rows},
                                    op.node(), {"T", "Tidx", "Tsegmentids"}));
  dx->push_back(Output());
  dx->push_back(Output());
  return s.status();
}
constexpr char kSparseSegmentSumGrad[] = "SparseSegmentSumGrad";
constexpr char kSparseSegmentMeanGrad[] = "SparseSegmentMeanGrad";
constexpr char kSparseSegmentSqrtNGrad[] = "SparseSegmentSqrtNGrad";
RILL_REGISTER_GRADIENT_OP("SparseSegmentSum",
                          SparseSegmentGrad<kSparseSegmentSumGrad>);
RILL_REGISTER_GRADIENT_OP("SparseSegmentMean",
                          SparseSegmentGrad<kSparseSegmentMeanGrad>);
RILL_REGISTER_GRADIENT_OP("SparseSegmentSqrtN",
                          SparseSegmentGrad<kSparseSegmentSqrtNGrad>);
// (TensorFlow gives the gradient ops no gradient either.)
RILL_REGISTER_NO_GRADIENT_OP("SparseSegmentSumGrad");
RILL_REGISTER_NO_GRADIENT_OP("SparseSegmentMeanGrad");
RILL_REGISTER_NO_GRADIENT_OP("SparseSegmentSqrtNGrad");
RILL_REGISTER_NO_GRADIENT_OP("SparseSegmentSumGradV2");
RILL_REGISTER_NO_GRADIENT_OP("SparseSegmentMeanGradV2");
RILL_REGISTER_NO_GRADIENT_OP("SparseSegmentSqrtNGradV2");

// CheckNumerics: the gradient, checked too (TensorFlow's message).
absl::Status CheckNumericsGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  std::string message;
  (void)GetAttr(op.node()->attrs(), "message", &message);
  dx->push_back(ops::CheckNumerics(
      s, g[0],
      absl::StrCat("Not a number (NaN) or infinity (Inf) values detected in "
                   "gradient. ",
                   message)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("CheckNumerics", CheckNumericsGrad);

// Print: the gradient passes to the input; the printed data get none.
absl::Status PrintGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  dx->push_back(g[0]);
  for (int i = 1; i < op.node()->num_inputs(); ++i) dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Print", PrintGrad);

// Softplus: sigmoid(x); Softsign: 1 / (1 + |x|)^2.
absl::Status SoftplusGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Sigmoid(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Softplus", SoftplusGrad);

absl::Status SoftsignGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output x = In(op, 0);
  auto denominator =
      ops::Square(s, ops::AddV2(s, Scalar(s, 1, x.type()), ops::Abs(s, x)));
  dx->push_back(ops::Div(s, g[0], denominator));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Softsign", SoftsignGrad);

absl::Status SquareGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  Output x = In(op, 0);
  dx->push_back(ops::Mul(s, g[0], ops::Mul(s, Scalar(s, 2, x.type()), x)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Square", SquareGrad);

// y = f(x) whose gradient op takes (y, g): Sqrt, Rsqrt, Tanh, Sigmoid,
// Reciprocal.
template <const char* kGradOp>
absl::Status OutputBasedGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  dx->push_back(grad::OpWithAttrsOf(s, kGradOp, {Output(op.node(), 0), g[0]},
                                    op.node(), {}));
  return s.status();
}
constexpr char kSqrtGrad[] = "SqrtGrad";
constexpr char kRsqrtGrad[] = "RsqrtGrad";
constexpr char kTanhGrad[] = "TanhGrad";
constexpr char kSigmoidGrad[] = "SigmoidGrad";
constexpr char kReciprocalGrad[] = "ReciprocalGrad";
RILL_REGISTER_GRADIENT_OP("Sqrt", OutputBasedGrad<kSqrtGrad>);
RILL_REGISTER_GRADIENT_OP("Rsqrt", OutputBasedGrad<kRsqrtGrad>);
RILL_REGISTER_GRADIENT_OP("Tanh", OutputBasedGrad<kTanhGrad>);
RILL_REGISTER_GRADIENT_OP("Sigmoid", OutputBasedGrad<kSigmoidGrad>);
RILL_REGISTER_GRADIENT_OP("Reciprocal", OutputBasedGrad<kReciprocalGrad>);
RILL_REGISTER_GRADIENT_OP("Inv", OutputBasedGrad<kReciprocalGrad>);

absl::Status ExpGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], Output(op.node(), 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Exp", ExpGrad);

absl::Status LogGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(ops::Mul(s, g[0], ops::Reciprocal(s, In(op, 0))));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Log", LogGrad);

absl::Status Log1pGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  Output x = In(op, 0);
  dx->push_back(ops::Div(s, g[0], ops::AddV2(s, Scalar(s, 1, x.type()), x)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Log1p", Log1pGrad);

// Sign is flat almost everywhere: its gradient is zero.
absl::Status SignGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  dx->push_back(ops::ZerosLike(s, In(op, 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Sign", SignGrad);

bool IsFloat(DataType t) {
  t = BaseType(t);
  return t == DT_FLOAT || t == DT_DOUBLE || t == DT_HALF || t == DT_BFLOAT16;
}

// Cast between floating types casts the gradient back; a cast from or to
// an integer type stops it.
absl::Status CastGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  const DataType src = op.node()->input_type(0);
  if (IsFloat(src) && IsFloat(op.node()->output_type(0))) {
    dx->push_back(ops::Cast(s, g[0], BaseType(src)));
  } else {
    dx->push_back(Output());
  }
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Cast", CastGrad);

// --- Second derivatives: the gradients of the gradient helpers, with
// respect to both of their inputs (y, dy).

// SqrtGrad(y, dy) = dy * 0.5 / y.
absl::Status SqrtGradGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output y = In(op, 0), z = Output(op.node(), 0);
  dx->push_back(ops::Neg(s, ops::Div(s, ops::Mul(s, g[0], z), y)));
  dx->push_back(ops::SqrtGrad(s, y, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SqrtGrad", SqrtGradGrad);

// RsqrtGrad(y, dy) = dy * -0.5 * y^3.
absl::Status RsqrtGradGrad(const Scope& s, const Operation& op, const Grads& g,
                           Grads* dx) {
  Output y = In(op, 0), dy = In(op, 1);
  auto dz_dy = ops::Mul(s, ops::Mul(s, Scalar(s, -1.5, y.type()), dy),
                        ops::Square(s, y));
  dx->push_back(ops::Mul(s, g[0], dz_dy));
  dx->push_back(ops::RsqrtGrad(s, y, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("RsqrtGrad", RsqrtGradGrad);

// TanhGrad(y, dy) = dy * (1 - y^2).
absl::Status TanhGradGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output y = In(op, 0), dy = In(op, 1);
  dx->push_back(ops::Mul(
      s, g[0], ops::Mul(s, ops::Mul(s, Scalar(s, -2, y.type()), dy), y)));
  dx->push_back(ops::TanhGrad(s, y, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TanhGrad", TanhGradGrad);

// SigmoidGrad(y, dy) = dy * y * (1 - y).
absl::Status SigmoidGradGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  Output y = In(op, 0), dy = In(op, 1);
  auto one_minus_2y = ops::Sub(s, Scalar(s, 1, y.type()),
                               ops::Mul(s, Scalar(s, 2, y.type()), y));
  dx->push_back(ops::Mul(s, g[0], ops::Mul(s, dy, one_minus_2y)));
  dx->push_back(ops::SigmoidGrad(s, y, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SigmoidGrad", SigmoidGradGrad);

// ReciprocalGrad(y, dy) = -dy * y^2.
absl::Status ReciprocalGradGrad(const Scope& s, const Operation& op,
                                const Grads& g, Grads* dx) {
  Output y = In(op, 0), dy = In(op, 1);
  dx->push_back(ops::Mul(
      s, g[0], ops::Mul(s, ops::Mul(s, Scalar(s, -2, y.type()), dy), y)));
  dx->push_back(ops::ReciprocalGrad(s, y, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("ReciprocalGrad", ReciprocalGradGrad);

// --- Binary ops with broadcasting: the gradient of each operand is summed
// over the dims it was broadcast along and reshaped to its shape.

absl::Status AddGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  ReduceToInputShapes(s, In(op, 0), In(op, 1), g[0], g[0], dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Add", AddGrad);
RILL_REGISTER_GRADIENT_OP("AddV2", AddGrad);

absl::Status SubGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  ReduceToInputShapes(s, In(op, 0), In(op, 1), g[0], ops::Neg(s, g[0]), dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Sub", SubGrad);

absl::Status MulGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  Output x = In(op, 0), y = In(op, 1);
  ReduceToInputShapes(s, x, y, ops::Mul(s, g[0], y), ops::Mul(s, x, g[0]), dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Mul", MulGrad);

absl::Status DivGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  Output x = In(op, 0), y = In(op, 1);
  // d(x/y)/dy = -x / y^2 = -(x/y)/y.
  auto gy = ops::Mul(s, g[0], ops::Neg(s, ops::Div(s, ops::Div(s, x, y), y)));
  ReduceToInputShapes(s, x, y, ops::Div(s, g[0], y), gy, dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Div", DivGrad);
RILL_REGISTER_GRADIENT_OP("RealDiv", DivGrad);

// DivNoNan: TensorFlow's gradient, which is 0 wherever y is 0.
absl::Status DivNoNanGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output x = In(op, 0), y = In(op, 1);
  auto gy = ops::Mul(s, g[0],
                     ops::DivNoNan(s, ops::DivNoNan(s, ops::Neg(s, x), y), y));
  ReduceToInputShapes(s, x, y, ops::DivNoNan(s, g[0], y), gy, dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("DivNoNan", DivNoNanGrad);

// Atan2(y, x): d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2).
absl::Status Atan2Grad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  Output y = In(op, 0), x = In(op, 1);
  auto scale =
      ops::Div(s, g[0], ops::AddV2(s, ops::Square(s, x), ops::Square(s, y)));
  ReduceToInputShapes(s, y, x, ops::Mul(s, x, scale),
                      ops::Mul(s, ops::Neg(s, y), scale), dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Atan2", Atan2Grad);

// FloorMod(x, y) = x - floor(x / y) * y.
absl::Status FloorModGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output x = In(op, 0), y = In(op, 1);
  auto gy = ops::Mul(s, g[0], ops::Neg(s, ops::FloorDiv(s, x, y)));
  ReduceToInputShapes(s, x, y, g[0], gy, dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("FloorMod", FloorModGrad);

absl::Status SquaredDifferenceGrad(const Scope& s, const Operation& op,
                                   const Grads& g, Grads* dx) {
  Output x = In(op, 0), y = In(op, 1);
  auto gx =
      ops::Mul(s, g[0], ops::Mul(s, Scalar(s, 2, x.type()), ops::Sub(s, x, y)));
  ReduceToInputShapes(s, x, y, gx, ops::Neg(s, gx), dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SquaredDifference", SquaredDifferenceGrad);

// Maximum/Minimum: the gradient goes to the operand that was chosen (x on
// ties, as TensorFlow does).
template <bool kMax>
absl::Status MaxMinGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  Output x = In(op, 0), y = In(op, 1);
  Output x_chosen = kMax ? Output(ops::GreaterEqual(s, x, y))
                         : Output(ops::LessEqual(s, x, y));
  auto zeros = ops::ZerosLike(s, g[0]);
  ReduceToInputShapes(s, x, y, ops::SelectV2(s, x_chosen, g[0], zeros),
                      ops::SelectV2(s, x_chosen, zeros, g[0]), dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Maximum", MaxMinGrad<true>);
RILL_REGISTER_GRADIENT_OP("Minimum", MaxMinGrad<false>);

// Pow(x, y): dx = g * y * x^(y-1); dy = g * x^y * log(x), taken as 0 where
// x <= 0 (where log is undefined), as TensorFlow does.
absl::Status PowGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  Output x = In(op, 0), y = In(op, 1), z = Output(op.node(), 0);
  auto gx = ops::Mul(
      s, g[0],
      ops::Mul(s, y, ops::Pow(s, x, ops::Sub(s, y, Scalar(s, 1, y.type())))));
  auto positive = ops::Greater(s, x, ops::ZerosLike(s, x));
  auto safe_x = ops::SelectV2(s, positive, x, ops::OnesLike(s, x));
  auto log_x =
      ops::SelectV2(s, positive, ops::Log(s, safe_x), ops::ZerosLike(s, x));
  auto gy = ops::Mul(s, g[0], ops::Mul(s, z, log_x));
  ReduceToInputShapes(s, x, y, gx, gy, dx);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Pow", PowGrad);

absl::Status AddNGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  for (int i = 0; i < op.node()->num_inputs(); ++i) dx->push_back(g[0]);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("AddN", AddNGrad);

// Select(c, t, e): the gradient goes to t where c holds, to e elsewhere.
absl::Status SelectGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  Output c = In(op, 0);
  auto zeros = ops::ZerosLike(s, g[0]);
  dx->push_back(Output());
  dx->push_back(ops::Select(s, c, g[0], zeros));
  dx->push_back(ops::Select(s, c, zeros, g[0]));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Select", SelectGrad);

// SelectV2 broadcasts its three inputs: each branch's gradient is summed
// back to its shape.
absl::Status SelectV2Grad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output c = In(op, 0), t = In(op, 1), e = In(op, 2);
  auto zeros = ops::ZerosLike(s, g[0]);
  dx->push_back(Output());
  // The broadcast shape also involves c: reduce each branch against the
  // output's shape.
  Output out = Output(op.node(), 0);
  Grads gt, ge;
  ReduceToInputShapes(s, t, out, ops::SelectV2(s, c, g[0], zeros), Output(),
                      &gt);
  ReduceToInputShapes(s, e, out, ops::SelectV2(s, c, zeros, g[0]), Output(),
                      &ge);
  dx->push_back(gt[0]);
  dx->push_back(ge[0]);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SelectV2", SelectV2Grad);

// --- Matrix products.

// z = op(a) op(b) with op a transpose or not. The four cases of
// TensorFlow's MatMul gradient.
struct Product {
  Output a, b;
  bool ta = false, tb = false;
};
absl::Status MatMulGradFor(const Scope& s, const std::string& op_name,
                           const Product& p, const Output& g, Grads* dx) {
  auto mm = [&](const Output& x, bool tx, const Output& y, bool ty) {
    NodeBuilder b(s, op_name);
    b.Input(x).Input(y);
    if (op_name == "MatMul") {
      b.Attr("transpose_a", tx).Attr("transpose_b", ty);
    } else {
      b.Attr("adj_x", tx).Attr("adj_y", ty);
    }
    return Output(b.Finalize(), 0);
  };
  if (!p.ta && !p.tb) {
    dx->push_back(mm(g, false, p.b, true));
    dx->push_back(mm(p.a, true, g, false));
  } else if (!p.ta && p.tb) {
    dx->push_back(mm(g, false, p.b, false));
    dx->push_back(mm(g, true, p.a, false));
  } else if (p.ta && !p.tb) {
    dx->push_back(mm(p.b, false, g, true));
    dx->push_back(mm(p.a, false, g, false));
  } else {
    dx->push_back(mm(p.b, true, g, true));
    dx->push_back(mm(g, true, p.a, true));
  }
  return s.status();
}

absl::Status MatMulGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  Product p{In(op, 0), In(op, 1)};
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "transpose_a", &p.ta));
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "transpose_b", &p.tb));
  return MatMulGradFor(s, "MatMul", p, g[0], dx);
}
RILL_REGISTER_GRADIENT_OP("MatMul", MatMulGrad);

// BatchMatMulV2 broadcasts the batch dims: each operand's gradient is
// summed over the batch dims it was broadcast along.
absl::Status BatchMatMulV2Grad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  Product p{In(op, 0), In(op, 1)};
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "adj_x", &p.ta));
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "adj_y", &p.tb));
  Grads full;
  RETURN_IF_ERROR(MatMulGradFor(s, "BatchMatMulV2", p, g[0], &full));
  // Batch dims: all but the last two.
  auto batch = [&](const Output& x) {
    auto shape = ops::Shape(s, x);
    return ops::Slice(
        s, shape, {0},
        ops::Reshape(s, ops::Sub(s, ops::Size(s, shape), 2), {1}));
  };
  auto r = ops::BroadcastGradientArgs(s, batch(p.a), batch(p.b));
  dx->push_back(
      ops::Reshape(s, ops::Sum(s, full[0], r.r0), ops::Shape(s, p.a)));
  dx->push_back(
      ops::Reshape(s, ops::Sum(s, full[1], r.r1), ops::Shape(s, p.b)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("BatchMatMulV2", BatchMatMulV2Grad);

// --- Reductions.

// The axes input as int32 (reductions also accept int64 axes).
Output Axes(const Scope& s, const Operation& op) {
  Output axes = In(op, 1);
  if (BaseType(axes.type()) != DT_INT32) axes = ops::Cast(s, axes, DT_INT32);
  return ops::Reshape(s, axes, {-1});
}

// g broadcast back over the reduced axes to x's shape.
Output BroadcastOverReduced(const Scope& s, const Operation& op,
                            const Output& g) {
  Output x = In(op, 0);
  auto shape = ops::Shape(s, x);
  auto kept = grad::ReducedShape(s, shape, Axes(s, op));
  return ops::BroadcastTo(s, ops::Reshape(s, g, kept), shape);
}

absl::Status SumGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  dx->push_back(BroadcastOverReduced(s, op, g[0]));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Sum", SumGrad);

absl::Status MeanGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  Output x = In(op, 0), y = Output(op.node(), 0);
  // The number of elements averaged: size(x) / size(y).
  auto count = ops::Cast(
      s, ops::Div(s, ops::Size(s, x), ops::Maximum(s, ops::Size(s, y), 1)),
      BaseType(x.type()));
  dx->push_back(ops::Div(s, BroadcastOverReduced(s, op, g[0]), count));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Mean", MeanGrad);

// Max/Min: the gradient is shared equally among the elements that equal
// the extreme value.
absl::Status MaxMinReduceGrad(const Scope& s, const Operation& op,
                              const Grads& g, Grads* dx) {
  Output x = In(op, 0);
  auto shape = ops::Shape(s, x);
  auto kept = grad::ReducedShape(s, shape, Axes(s, op));
  auto y = ops::Reshape(s, Output(op.node(), 0), kept);
  auto hits = ops::Cast(s, ops::Equal(s, x, y), BaseType(x.type()));
  auto count = ops::Sum(s, hits, Axes(s, op), ops::Sum::KeepDims(true));
  auto share = ops::Div(s, ops::Reshape(s, g[0], kept), count);
  dx->push_back(ops::Mul(s, ops::BroadcastTo(s, share, shape), hits));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Max", MaxMinReduceGrad);
RILL_REGISTER_GRADIENT_OP("Min", MaxMinReduceGrad);

// Prod: d/dx_i is the product of the other elements of x_i's group, built
// without dividing (zeros are fine) from exclusive cumulative products
// from both ends, after moving the reduced axes to the front.
absl::Status ProdGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  Output x = In(op, 0);
  auto shape = ops::Shape(s, x);
  auto rank = ops::Rank(s, x);
  auto axes = ops::FloorMod(s, Axes(s, op), rank);
  auto all = ops::Range(s, 0, rank, 1);
  // kept[i] is 1 for an axis not reduced; the kept axes in order are the
  // positions where it is 1, placed by their exclusive running count.
  auto kept = ops::DynamicStitch(
      s, {all, axes}, {ops::OnesLike(s, all), ops::ZerosLike(s, axes)});
  auto slot =
      ops::SelectV2(s, ops::Equal(s, kept, 1),
                    ops::Cumsum(s, kept, 0, ops::Cumsum::Exclusive(true)), -1);
  auto others = ops::UnsortedSegmentSum(s, all, slot, ops::Sum(s, kept, 0));
  // Reduced axes (deduplicated, in order) then the kept ones.
  auto reduced_mask = ops::Sub(s, 1, kept);
  auto rslot = ops::SelectV2(
      s, ops::Equal(s, reduced_mask, 1),
      ops::Cumsum(s, reduced_mask, 0, ops::Cumsum::Exclusive(true)), -1);
  auto reduced =
      ops::UnsortedSegmentSum(s, all, rslot, ops::Sum(s, reduced_mask, 0));
  auto perm = ops::ConcatV2(s, {reduced, others}, 0);
  auto permuted = ops::Transpose(s, x, perm);
  auto n_reduced = ops::Prod(s, ops::GatherV2(s, shape, reduced, 0), 0);
  auto n_other = ops::Prod(s, ops::GatherV2(s, shape, others, 0), 0);
  auto matrix = ops::Reshape(s, permuted, ops::Pack(s, {n_reduced, n_other}));
  auto left = ops::Cumprod(s, matrix, 0, ops::Cumprod::Exclusive(true));
  auto right =
      ops::Cumprod(s, matrix, 0, ops::Cumprod::Exclusive(true).Reverse(true));
  auto others_product = ops::Transpose(
      s, ops::Reshape(s, ops::Mul(s, left, right), ops::Shape(s, permuted)),
      ops::InvertPermutation(s, perm));
  dx->push_back(ops::Mul(s, BroadcastOverReduced(s, op, g[0]), others_product));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Prod", ProdGrad);

// Cumsum: the gradient is the cumulative sum the other way.
absl::Status CumsumGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  bool exclusive = false, reverse = false;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "exclusive", &exclusive));
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "reverse", &reverse));
  dx->push_back(ops::Cumsum(
      s, g[0], In(op, 1), ops::Cumsum::Exclusive(exclusive).Reverse(!reverse)));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Cumsum", CumsumGrad);

// Cumprod: TensorFlow's formula, cumsum(y * g) the other way divided by x
// (undefined where x is 0, as in TensorFlow).
absl::Status CumprodGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  bool exclusive = false, reverse = false;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "exclusive", &exclusive));
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "reverse", &reverse));
  Output x = In(op, 0), y = Output(op.node(), 0);
  auto back = ops::Cumsum(s, ops::Mul(s, y, g[0]), In(op, 1),
                          ops::Cumsum::Exclusive(exclusive).Reverse(!reverse));
  dx->push_back(ops::Div(s, back, x));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Cumprod", CumprodGrad);

// Comparisons, logic, integer division and index results carry no
// gradient.
RILL_REGISTER_NO_GRADIENT_OP("Equal");
RILL_REGISTER_NO_GRADIENT_OP("NotEqual");
RILL_REGISTER_NO_GRADIENT_OP("Less");
RILL_REGISTER_NO_GRADIENT_OP("LessEqual");
RILL_REGISTER_NO_GRADIENT_OP("Greater");
RILL_REGISTER_NO_GRADIENT_OP("GreaterEqual");
RILL_REGISTER_NO_GRADIENT_OP("LogicalAnd");
RILL_REGISTER_NO_GRADIENT_OP("LogicalOr");
RILL_REGISTER_NO_GRADIENT_OP("LogicalNot");
RILL_REGISTER_NO_GRADIENT_OP("InTopKV2");
RILL_REGISTER_NO_GRADIENT_OP("Bucketize");
RILL_REGISTER_NO_GRADIENT_OP("BroadcastArgs");
RILL_REGISTER_NO_GRADIENT_OP("StringFormat");
RILL_REGISTER_NO_GRADIENT_OP("PrintV2");
RILL_REGISTER_NO_GRADIENT_OP("All");
RILL_REGISTER_NO_GRADIENT_OP("Any");
// A check: it has no outputs.
RILL_REGISTER_NO_GRADIENT_OP("Assert");
RILL_REGISTER_NO_GRADIENT_OP("FloorDiv");
RILL_REGISTER_NO_GRADIENT_OP("ArgMax");
RILL_REGISTER_NO_GRADIENT_OP("ArgMin");
RILL_REGISTER_NO_GRADIENT_OP("Range");

}  // namespace
}  // namespace rill
