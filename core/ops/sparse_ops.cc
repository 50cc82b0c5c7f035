// Sparse tensors (indices, values, dense shape): met by dense math
// (SparseTensorDenseMatMul, SparseToDense), rows filled (SparseFillEmptyRows,
// what safe_embedding_lookup_sparse starts with) and reshaped
// (SparseReshape). Schemas follow TensorFlow's.
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

// Each empty row r of the sparse tensor gets the entry [r, 0, ...] =
// default_value; entries come out ordered by row.
RILL_REGISTER_OP("SparseFillEmptyRows")
    .Input("indices: int64")
    .Input("values: T")
    .Input("dense_shape: int64")
    .Input("default_value: T")
    .Output("output_indices: int64")
    .Output("output_values: T")
    .Output("empty_row_indicator: bool")
    .Output("reverse_index_map: int64")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      ASSIGN_OR_RETURN(PartialTensorShape indices, c->WithRank(0, 2));
      RETURN_IF_ERROR(c->WithRank(1, 1).status());
      RETURN_IF_ERROR(c->WithRank(2, 1).status());
      RETURN_IF_ERROR(c->WithRank(3, 0).status());
      c->set_output(0, PartialTensorShape({-1, indices.dim_size(1)}));
      c->set_output(1, PartialTensorShape({-1}));
      c->set_output(2, PartialTensorShape({-1}));
      c->set_output(3, PartialTensorShape({indices.dim_size(0)}));
      return absl::OkStatus();
    });

// Its gradient: the output values' gradient back to the input values, and
// the filled entries' sum to default_value.
RILL_REGISTER_OP("SparseFillEmptyRowsGrad")
    .Input("reverse_index_map: int64")
    .Input("grad_values: T")
    .Output("d_values: T")
    .Output("d_default_value: T")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 1).status());
      RETURN_IF_ERROR(c->WithRank(1, 1).status());
      c->set_output(0, c->input(0));
      c->set_output(1, PartialTensorShape::Scalar());
      return absl::OkStatus();
    });

// The same entries in a tensor of new_shape (one dimension may be -1).
RILL_REGISTER_OP("SparseReshape")
    .Input("input_indices: int64")
    .Input("input_shape: int64")
    .Input("new_shape: int64")
    .Output("output_indices: int64")
    .Output("output_shape: int64")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      ASSIGN_OR_RETURN(PartialTensorShape indices, c->WithRank(0, 2));
      RETURN_IF_ERROR(c->WithRank(1, 1).status());
      ASSIGN_OR_RETURN(PartialTensorShape shape, c->WithRank(2, 1));
      c->set_output(
          0, PartialTensorShape({indices.dim_size(0), shape.dim_size(0)}));
      c->set_output(1, shape);
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
