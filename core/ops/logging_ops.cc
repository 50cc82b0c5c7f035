// Summary ops with TensorFlow's schemas: ScalarSummary makes a serialized
// Summary of tagged values, HistogramSummary one of a histogram,
// MergeSummary joins serialized Summaries (a
// client's summary writer, such as MonitoredTrainingSession's, writes them
// to TensorBoard event files). Assert fails the step when its condition is
// false.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

RILL_REGISTER_OP("ScalarSummary")
    .Input("tags: string")
    .Input("values: T")
    .Output("summary: string")
    .Attr(absl::StrCat("T: ", type_sets::kReal))
    .SetShapeFn(shape_fns::ScalarShape);

// A histogram of values, in TensorFlow's buckets.
RILL_REGISTER_OP("HistogramSummary")
    .Input("tag: string")
    .Input("values: T")
    .Output("summary: string")
    .Attr(absl::StrCat("T: ", type_sets::kReal, " = DT_FLOAT"))
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("MergeSummary")
    .Input("inputs: N * string")
    .Output("summary: string")
    .Attr("N: int >= 1")
    .SetShapeFn(shape_fns::ScalarShape);

// The tensor, or INVALID_ARGUMENT "<message> : Tensor had NaN values" (or
// Inf) when it holds any.
RILL_REGISTER_OP("CheckNumerics")
    .Input("tensor: T")
    .Output("output: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .Attr("message: string")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnchangedShape);

// tf.compat.v1.Print: the input, after writing the message and the data
// (first_n times; -1: always) to stderr.
RILL_REGISTER_OP("Print")
    .Input("input: T")
    .Input("data: U")
    .Output("output: T")
    .Attr("T: type")
    .Attr("U: list(type) >= 0")
    .Attr("message: string = ''")
    .Attr("first_n: int = -1")
    .Attr("summarize: int = 3")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnchangedShape);

// tf.print: StringFormat puts the tensors, summarized, into the template's
// placeholders; PrintV2 writes the string out.
RILL_REGISTER_OP("StringFormat")
    .Input("inputs: T")
    .Output("output: string")
    .Attr("T: list(type) >= 0")
    .Attr("template: string = '%s'")
    .Attr("placeholder: string = '%s'")
    .Attr("summarize: int = 3")
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("PrintV2")
    .Input("input: string")
    .Attr("output_stream: string = 'stderr'")
    .Attr("end: string = '\n'")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext*) { return absl::OkStatus(); });

// INVALID_ARGUMENT with the first `summarize` entries of each data tensor
// when the condition is false (tf.debugging.Assert).
RILL_REGISTER_OP("Assert")
    .Input("condition: bool")
    .Input("data: T")
    .Attr("T: list(type) >= 1")
    .Attr("summarize: int = 3")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      if (c->input(0).dims() > 0) {
        return c->Error(
            absl::StrCat("condition must be a scalar, not of shape ",
                         c->input(0).DebugString()));
      }
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
