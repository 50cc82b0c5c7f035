// Checkpoint ops with TensorFlow's schemas: SaveV2 writes named tensors
// under a path prefix and RestoreV2 reads them back, in TensorFlow's V2
// format (runtime/training/checkpoint_file.h); MergeV2Checkpoints joins a
// sharded save's parts; ShardedFilename, ShardedFilespec and StringJoin
// make the names a sharded Saver uses (StaticRegexFullMatch: whether the
// path is on a file system without renames).
#include <optional>

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

RILL_REGISTER_OP("StaticRegexFullMatch")
    .Input("input: string")
    .Output("output: bool")
    .Attr("pattern: string")
    .SetShapeFn(shape_fns::UnchangedShape);

// The inputs are scalars or of one shape; scalars repeat to it.
RILL_REGISTER_OP("StringJoin")
    .Input("inputs: N * string")
    .Attr("N: int >= 0")
    .Attr("separator: string = ''")
    .Output("output: string")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      // The first input that is not a scalar; the others must agree.
      std::optional<PartialTensorShape> out;
      for (int i = 0; i < c->num_inputs(); ++i) {
        const PartialTensorShape& in = c->input(i);
        if (in.dims() == 0) continue;
        if (!out.has_value() || out->unknown_rank()) {
          out = in;
        } else if (!out->IsCompatibleWith(in)) {
          return c->Error(absl::StrCat("input ", i, " has shape ",
                                       in.DebugString(), ", the others ",
                                       out->DebugString()));
        }
      }
      c->set_output(0, out.value_or(PartialTensorShape({})));
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
