// Linear algebra ops: Einsum, MatrixInverse, MatrixDeterminant and the band
// ops MatrixDiagV3, MatrixDiagPartV3, MatrixSetDiagV3. Schemas follow
// TensorFlow's; the kernels take float and double (Einsum int32 and int64
// too, the band ops also bool).
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/einsum_equation.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// The output's dims from the operands' known ranks: a label's size is any
// operand's dim for it other than 1 (1 when all are 1), unknown when none
// is known.
absl::Status EinsumShape(InferenceContext* c) {
  std::string equation;
  RETURN_IF_ERROR(c->GetAttr("equation", &equation));
  std::vector<int> ranks;
  for (int i = 0; i < c->num_inputs(); ++i) {
    if (c->input(i).unknown_rank()) {
      c->set_output(0, PartialTensorShape::UnknownRank());
      return absl::OkStatus();
    }
    ranks.push_back(c->input(i).dims());
  }
  ASSIGN_OR_RETURN(EinsumEquation eq, ParseEinsum(equation, ranks));
  std::vector<int64_t> dims;
  for (int label : eq.output) {
    int64_t size = -1;
    for (int i = 0; i < c->num_inputs(); ++i) {
      for (int d = 0; d < ranks[i]; ++d) {
        const int64_t dim = c->input(i).dim_size(d);
        if (eq.inputs[i][d] != label || dim < 0) continue;
        if (size <= 1) size = dim;
      }
    }
    dims.push_back(size);
  }
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

RILL_REGISTER_OP("Einsum")
    .Input("inputs: N * T")
    .Output("output: T")
    .Attr("equation: string")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .SetShapeFn(EinsumShape);

// [..., n, n] in, the same out.
absl::Status SquareMatrixShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRankAtLeast(0, 2));
  const PartialTensorShape& in = c->input(0);
  if (in.unknown_rank()) {
    c->set_output(0, in);
    return absl::OkStatus();
  }
  const int64_t rows = in.dim_size(in.dims() - 2);
  const int64_t cols = in.dim_size(in.dims() - 1);
  if (rows >= 0 && cols >= 0 && rows != cols) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected square matrices [..., n, n], got shape ", in.DebugString()));
  }
  c->set_output(0, in);
  return absl::OkStatus();
}

RILL_REGISTER_OP("MatrixInverse")
    .Input("input: T")
    .Output("output: T")
    .Attr("adjoint: bool = false")
    .Attr("T: {double, float, half, complex64, complex128}")
    .SetShapeFn(SquareMatrixShape);

RILL_REGISTER_OP("MatrixDeterminant")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: {double, float, half, complex64, complex128}")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(SquareMatrixShape(c));
      const PartialTensorShape& in = c->input(0);
      if (in.unknown_rank()) return absl::OkStatus();
      const absl::Span<const int64_t> dims = in.dim_sizes();
      ASSIGN_OR_RETURN(PartialTensorShape out,
                       PartialTensorShape::Create(dims.first(dims.size() - 2)));
      c->set_output(0, out);
      return absl::OkStatus();
    });

constexpr char kAlign[] =
    "align: {'LEFT_RIGHT', 'RIGHT_LEFT', 'LEFT_LEFT', 'RIGHT_RIGHT'} = "
    "'RIGHT_LEFT'";

RILL_REGISTER_OP("MatrixDiagV3")
    .Input("diagonal: T")
    .Input("k: int32")
    .Input("num_rows: int32")
    .Input("num_cols: int32")
    .Input("padding_value: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr(kAlign)
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("MatrixDiagPartV3")
    .Input("input: T")
    .Input("k: int32")
    .Input("padding_value: T")
    .Output("diagonal: T")
    .Attr("T: type")
    .Attr(kAlign)
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("MatrixSetDiagV3")
    .Input("input: T")
    .Input("diagonal: T")
    .Input("k: int32")
    .Output("output: T")
    .Attr("T: type")
    .Attr(kAlign)
    .SetShapeFn(shape_fns::UnchangedShape);

}  // namespace
}  // namespace rill
