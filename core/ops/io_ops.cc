// Checkpoint ops with TensorFlow's schemas: SaveV2 writes named tensors
// under a path prefix and RestoreV2 reads them back, in TensorFlow's V2
// format (runtime/training/checkpoint_file.h); MergeV2Checkpoints joins a
// sharded save's parts; ShardedFilename and ShardedFilespec make the names a
// sharded Saver uses (with StringJoin and StaticRegexFullMatch, in
// string_ops.cc).
#include "absl/strings/str_cat.h"
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

RILL_REGISTER_OP("MergeV2Checkpoints")
    .Input("checkpoint_prefixes: string")
    .Input("destination_prefix: string")
    .Attr("delete_old_dirs: bool = true")
    .Attr("allow_missing_files: bool = false")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 1).status());
      RETURN_IF_ERROR(c->WithRank(1, 0).status());
      return absl::OkStatus();
    });

RILL_REGISTER_OP("ShardedFilename")
    .Input("basename: string")
    .Input("shard: int32")
    .Input("num_shards: int32")
    .Output("filename: string")
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("ShardedFilespec")
    .Input("basename: string")
    .Input("num_shards: int32")
    .Output("filename: string")
    .SetShapeFn(shape_fns::ScalarShape);

}  // namespace
}  // namespace rill
