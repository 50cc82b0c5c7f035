// The ops that carry a step's feeds in and fetches out: the session rewrites
// each fed tensor into an _Arg node and each fetched one into a _Retval
// node, which read and write the step's CallFrame. Schemas follow
// TensorFlow's ops of the same names.
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"

namespace rill {
namespace {

RILL_REGISTER_OP("_Arg")
    .Output("output: T")
    .Attr("T: type")
    .Attr("index: int >= 0")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("_Retval")
    .Input("input: T")
    .Attr("T: type")
    .Attr("index: int >= 0")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext*) { return absl::OkStatus(); });

}  // namespace
}  // namespace rill
