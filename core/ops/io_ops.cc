// Checkpoint ops: SaveV2 writes named tensors under a path prefix and
// RestoreV2 reads them back, with TensorFlow's schemas. Rill's checkpoint
// format is its own (see kernels/cpu/io_ops.cc); only the schemas match.
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// prefix is a scalar; tensor_names and shape_and_slices are vectors.
absl::Status CheckNameInputs(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(0, 0).status());
  RETURN_IF_ERROR(c->WithRank(1, 1).status());
  RETURN_IF_ERROR(c->WithRank(2, 1).status());
  return absl::OkStatus();
}

RILL_REGISTER_OP("SaveV2")
    .Input("prefix: string")
    .Input("tensor_names: string")
    .Input("shape_and_slices: string")
    .Input("tensors: dtypes")
    .Attr("dtypes: list(type) >= 1")
    .SetIsStateful()
    .SetShapeFn(CheckNameInputs);

RILL_REGISTER_OP("RestoreV2")
    .Input("prefix: string")
    .Input("tensor_names: string")
    .Input("shape_and_slices: string")
    .Output("tensors: dtypes")
    .Attr("dtypes: list(type) >= 1")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(CheckNameInputs(c));
      return shape_fns::UnknownShape(c);
    });

}  // namespace
}  // namespace rill
