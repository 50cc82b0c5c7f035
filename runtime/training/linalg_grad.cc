// Gradients of the linear-algebra ops: Einsum, MatrixInverse,
// MatrixDeterminant and the band ops.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/einsum_equation.h"
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"

namespace rill {
namespace {

using grad::In;
using grad::OpWithAttrsOf;

using Grads = std::vector<Output>;

Output BatchMatMul(const Scope& s, const Output& x, bool adj_x, const Output& y,
                   bool adj_y) {
  return Output(NodeBuilder(s, "BatchMatMulV2")
                    .Input(x)
                    .Input(y)
                    .Attr("adj_x", adj_x)
                    .Attr("adj_y", adj_y)
                    .Finalize(),
                0);
}

// d(A^-1) = -A^-1 dA A^-1, so dA = -A^-T g A^-T (adjoint: the same for
// A^H's inverse).
absl::Status MatrixInverseGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  bool adjoint = false;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "adjoint", &adjoint));
  const Output inv(op.node(), 0);
  dx->push_back(ops::Neg(
      s, BatchMatMul(s, inv, !adjoint,
                     BatchMatMul(s, g[0], adjoint, inv, !adjoint), false)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("MatrixInverse", MatrixInverseGrad);

// d det(A) / dA = det(A) A^-T.
absl::Status MatrixDeterminantGrad(const Scope& s, const Operation& op,
                                   const Grads& g, Grads* dx) {
  const Output det(op.node(), 0);
  const Output inv_t =
      ops::MatrixInverse(s, In(op, 0), ops::MatrixInverse::Adjoint(true));
  const Output scale = ops::Reshape(
      s, ops::Mul(s, g[0], det),
      ops::ConcatV2(s, {ops::Shape(s, det), ops::Const(s, {1, 1})}, 0));
  dx->push_back(ops::Mul(s, scale, inv_t));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("MatrixDeterminant", MatrixDeterminantGrad);

// The band of `g` that the op's k input names, zeros padding.
Output DiagPart(const Scope& s, const Operation& op, const Output& g,
                const Output& k) {
  return OpWithAttrsOf(s, "MatrixDiagPartV3",
                       {g, k, grad::Scalar(s, 0, g.type())}, op.node(),
                       {"align"});
}

Output SetDiag(const Scope& s, const Operation& op, const Output& x,
               const Output& diag, const Output& k) {
  return OpWithAttrsOf(s, "MatrixSetDiagV3", {x, diag, k}, op.node(),
                       {"align"});
}

absl::Status MatrixDiagGrad(const Scope& s, const Operation& op, const Grads& g,
                            Grads* dx) {
  *dx = {DiagPart(s, op, g[0], In(op, 1)), Output(), Output(), Output(),
         Output()};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("MatrixDiagV3", MatrixDiagGrad);

absl::Status MatrixDiagPartGrad(const Scope& s, const Operation& op,
                                const Grads& g, Grads* dx) {
  *dx = {SetDiag(s, op, ops::ZerosLike(s, In(op, 0)), g[0], In(op, 1)),
         Output(), Output()};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("MatrixDiagPartV3", MatrixDiagPartGrad);

absl::Status MatrixSetDiagGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  *dx = {SetDiag(s, op, g[0], ops::ZerosLike(s, In(op, 1)), In(op, 2)),
         DiagPart(s, op, g[0], In(op, 2)), Output()};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("MatrixSetDiagV3", MatrixSetDiagGrad);

// --- Einsum.

// An operand's subscripts as an equation spells them, "..." for its
// ellipsis dims (`labels` of the resolved equation).
std::string Spell(const EinsumEquation& eq, const std::vector<int>& labels,
                  bool ellipsis) {
  std::string out;
  for (int label : labels) {
    if (!eq.IsEllipsis(label)) {
      out += EinsumEquation::Letter(label);
    } else if (ellipsis && out.find("...") == std::string::npos) {
      out += "...";
    }
  }
  if (ellipsis && out.find("...") == std::string::npos) out = "..." + out;
  return out;
}

// The gradient of operand `i`: g (and the other operand) contracted back
// to its subscripts. Its labels found in neither g nor the other operand
// were summed by the forward op: the contraction leaves them out, and the
// result is broadcast along them. Its ellipsis dims may have been broadcast
// against the other operand's: the result is summed back to its shape.
absl::StatusOr<Output> EinsumOperandGrad(const Scope& s, const Operation& op,
                                         const EinsumEquation& eq, int i,
                                         const Output& g) {
  const int n = static_cast<int>(eq.inputs.size());
  const std::vector<int>& mine = eq.inputs[i];
  std::vector<int> others = eq.output;
  if (n == 2) {
    const std::vector<int>& other = eq.inputs[1 - i];
    others.insert(others.end(), other.begin(), other.end());
  }
  std::vector<int> kept;
  std::vector<int32_t> summed_axes;
  for (size_t d = 0; d < mine.size(); ++d) {
    if (std::count(mine.begin(), mine.end(), mine[d]) > 1) {
      return absl::UnimplementedError(absl::StrCat(
          "the gradient of an Einsum with a repeated subscript in one operand "
          "(a diagonal, as in 'ii->i') is not supported: node ",
          op.node()->name()));
    }
    if (std::find(others.begin(), others.end(), mine[d]) == others.end()) {
      summed_axes.push_back(static_cast<int32_t>(d));
    } else {
      kept.push_back(mine[d]);
    }
  }
  const bool any_ellipsis =
      std::find(eq.has_ellipsis.begin(), eq.has_ellipsis.end(), true) !=
      eq.has_ellipsis.end();
  if (any_ellipsis) {
    for (int j = 0; j < n; ++j) {
      if (eq.has_ellipsis[j] && !eq.ellipsis_leading[j]) {
        return absl::UnimplementedError(absl::StrCat(
            "the gradient of an Einsum is supported with '...' only at the "
            "start of each operand's subscripts: node ",
            op.node()->name()));
      }
    }
  }
  std::string equation = Spell(eq, eq.output, eq.ellipsis_rank > 0);
  std::vector<Output> operands = {g};
  if (n == 2) {
    equation += "," + Spell(eq, eq.inputs[1 - i], eq.has_ellipsis[1 - i]);
    operands.push_back(In(op, 1 - i));
  }
  equation += "->" + Spell(eq, kept, eq.ellipsis_rank > 0);
  Output grad(NodeBuilder(s, "Einsum")
                  .Input(InputList(operands))
                  .Attr("equation", equation)
                  .Finalize(),
              0);
  const Output shape = ops::Shape(s, In(op, i));
  if (any_ellipsis) {
    if (!summed_axes.empty()) {
      return absl::UnimplementedError(absl::StrCat(
          "the gradient of an Einsum with '...' that also sums a subscript "
          "of one operand away is not supported: node ",
          op.node()->name()));
    }
    // Leading ellipsis dims: sum what broadcasting added, as for any
    // broadcasting binary op.
    auto r = ops::BroadcastGradientArgs(s, shape, ops::Shape(s, grad));
    grad = ops::Reshape(s, ops::Sum(s, grad, r.r0), shape);
  } else if (!summed_axes.empty()) {
    const Output axes = ops::Const(
        s, Tensor::FromVector<int32_t>(
               summed_axes,
               TensorShape({static_cast<int64_t>(summed_axes.size())})));
    grad = ops::BroadcastTo(
        s, ops::Reshape(s, grad, grad::ReducedShape(s, shape, axes)), shape);
  }
  return grad;
}

absl::Status EinsumGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  std::string equation;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "equation", &equation));
  // The operands' ranks are not known here: each "..." is spelled again.
  const int n = op.node()->num_inputs();
  const std::vector<int> ranks(n, -1);
  ASSIGN_OR_RETURN(EinsumEquation eq, ParseEinsum(equation, ranks));
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Output grad, EinsumOperandGrad(s, op, eq, i, g[0]));
    dx->push_back(grad);
  }
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Einsum", EinsumGrad);

}  // namespace
}  // namespace rill
