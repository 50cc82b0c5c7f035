// Sparse tensors (indices, values, dense shape) met by dense math:
// SparseTensorDenseMatMul and SparseToDense. Schemas follow TensorFlow's.
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

RILL_REGISTER_OP("SparseTensorDenseMatMul")
    .Input("a_indices: Tindices")
    .Input("a_values: T")
    .Input("a_shape: int64")
    .Input("b: T")
    .Output("product: T")
    .Attr("T: type")
    .Attr("Tindices: {int32, int64} = DT_INT64")
    .Attr("adjoint_a: bool = false")
    .Attr("adjoint_b: bool = false")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 2).status());
      RETURN_IF_ERROR(c->WithRank(1, 1).status());
      ASSIGN_OR_RETURN(PartialTensorShape b, c->WithRank(3, 2));
      bool adjoint_a = false, adjoint_b = false;
      RETURN_IF_ERROR(c->GetAttr("adjoint_a", &adjoint_a));
      RETURN_IF_ERROR(c->GetAttr("adjoint_b", &adjoint_b));
      ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> a_shape,
                       c->ConstantInts(2));
      int64_t rows = -1;
      if (a_shape.has_value() && a_shape->size() == 2) {
        rows = (*a_shape)[adjoint_a ? 1 : 0];
      }
      const int64_t cols =
          b.unknown_rank() ? -1 : b.dim_size(adjoint_b ? 0 : 1);
      c->set_output(0, PartialTensorShape({rows, cols}));
      return absl::OkStatus();
    });

RILL_REGISTER_OP("SparseToDense")
    .Input("sparse_indices: Tindices")
    .Input("output_shape: Tindices")
    .Input("sparse_values: T")
    .Input("default_value: T")
    .Output("dense: T")
    .Attr("validate_indices: bool = true")
    .Attr("T: type")
    .Attr("Tindices: {int32, int64}")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      ASSIGN_OR_RETURN(PartialTensorShape out, c->ShapeFromShapeTensor(1));
      c->set_output(0, out);
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
