// Switch and Merge: the dataflow primitives of TensorFlow's conditionals.
// Switch forwards its input to one of two outputs and leaves the other
// "dead"; a dead input makes a node dead without running it, and Merge
// forwards whichever of its inputs is alive. TensorFlow 1's loops add
// frames: Enter passes a value into a loop's frame (every iteration's, when
// is_constant), NextIteration into the next iteration, Exit out to the
// enclosing frame; LoopCond marks the loop's predicate. Schemas follow
// TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status SwitchShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(1, 0).status());
  c->set_output(0, c->input(0));
  c->set_output(1, c->input(0));
  return absl::OkStatus();
}

// Only one input reaches the output, so it has what every input shares: the
// rank when all agree, and each dimension on which all agree.
absl::Status MergeShape(InferenceContext* c) {
  PartialTensorShape out = c->input(0);
  for (int i = 1; i < c->num_inputs() && !out.unknown_rank(); ++i) {
    const PartialTensorShape& in = c->input(i);
    if (in.unknown_rank() || in.dims() != out.dims()) {
      out = PartialTensorShape::UnknownRank();
      break;
    }
    DimVector dims;
    for (int d = 0; d < out.dims(); ++d) {
      dims.push_back(out.dim_size(d) == in.dim_size(d) ? out.dim_size(d) : -1);
    }
    ASSIGN_OR_RETURN(out, PartialTensorShape::Create(dims));
  }
  c->set_output(0, out);
  c->set_output(1, PartialTensorShape::Scalar());
  return absl::OkStatus();
}

RILL_REGISTER_OP("Switch")
    .Input("data: T")
    .Input("pred: bool")
    .Output("output_false: T")
    .Output("output_true: T")
    .Attr("T: type")
    .SetShapeFn(SwitchShape);

RILL_REGISTER_OP("Merge")
    .Input("inputs: N * T")
    .Output("output: T")
    .Output("value_index: int32")
    .Attr("T: type")
    .Attr("N: int >= 1")
    .SetShapeFn(MergeShape);

RILL_REGISTER_OP("RefSwitch")
    .Input("data: Ref(T)")
    .Input("pred: bool")
    .Output("output_false: Ref(T)")
    .Output("output_true: Ref(T)")
    .Attr("T: type")
    .SetAllowsUninitializedInput()
    .SetShapeFn(SwitchShape);

RILL_REGISTER_OP("RefMerge")
    .Input("inputs: Ref(N * T)")
    .Output("output: Ref(T)")
    .Output("value_index: int32")
    .Attr("T: type")
    .Attr("N: int >= 1")
    .SetShapeFn(MergeShape);

[[maybe_unused]] const bool kFrameOps = [] {
  for (bool ref : {false, true}) {
    const std::string arg = ref ? "Ref(T)" : "T";
    op_registry_internal::Registrar enter(
        OpDefBuilder(ref ? "RefEnter" : "Enter")
            .Input("data: " + arg)
            .Output("output: " + arg)
            .Attr("T: type")
            .Attr("frame_name: string")
            .Attr("is_constant: bool = false")
            .Attr("parallel_iterations: int = 10")
            .SetShapeFn(shape_fns::UnchangedShape));
    for (const char* name : {"Exit", "NextIteration"}) {
      op_registry_internal::Registrar registrar(
          OpDefBuilder(ref ? absl::StrCat("Ref", name) : name)
              .Input("data: " + arg)
              .Output("output: " + arg)
              .Attr("T: type")
              .SetShapeFn(shape_fns::UnchangedShape));
    }
  }
  return true;
}();

RILL_REGISTER_OP("LoopCond")
    .Input("input: bool")
    .Output("output: bool")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 0).status());
      c->set_output(0, PartialTensorShape::Scalar());
      return absl::OkStatus();
    });

RILL_REGISTER_OP("ControlTrigger").SetShapeFn(shape_fns::UnknownShape);

}  // namespace
}  // namespace rill
