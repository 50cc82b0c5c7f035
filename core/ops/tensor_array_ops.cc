// TensorArrayV3 and StackV2, the per-step arrays and stacks of TensorFlow 1
// graphs: tf.compat.v1 TensorArray (dynamic_rnn's inputs and outputs) and
// the accumulators that gradients of v1 while loops push in the forward
// loop and pop in the backward one. Schemas follow TensorFlow's; kernels
// in kernels/cpu/tensor_array_ops.cc.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status NoOutputs(InferenceContext*) { return absl::OkStatus(); }

// Input `i` must be a scalar (an index, a size, a flow).
absl::Status ScalarInput(InferenceContext* c, int i, absl::string_view what) {
  if (c->input(i).dims() > 0) {
    return c->Error(absl::StrCat(what, " must be a scalar, not of shape ",
                                 c->input(i).DebugString()));
  }
  return absl::OkStatus();
}

// Input `i` must be a vector (indices, lengths).
absl::Status VectorInput(InferenceContext* c, int i, absl::string_view what) {
  if (!c->input(i).unknown_rank() && c->input(i).dims() != 1) {
    return c->Error(absl::StrCat(what, " must be a vector, not of shape ",
                                 c->input(i).DebugString()));
  }
  return absl::OkStatus();
}

// Output 0 is [n] followed by the shape attr `attr` (unknown rank: unknown).
absl::Status StackedByAttr(InferenceContext* c, const char* attr) {
  PartialTensorShape element;
  RETURN_IF_ERROR(c->GetAttr(attr, &element));
  if (element.unknown_rank()) {
    c->set_output(0, PartialTensorShape());
    return absl::OkStatus();
  }
  PartialTensorShape out({-1});
  for (int d = 0; d < element.dims(); ++d) out.AddDim(element.dim_size(d));
  c->set_output(0, std::move(out));
  return absl::OkStatus();
}

// The writes (Write, Scatter, Split) output the flow: a scalar.
absl::Status FlowOut(InferenceContext* c) {
  RETURN_IF_ERROR(ScalarInput(c, c->num_inputs() - 1, "flow_in"));
  c->set_output(0, PartialTensorShape::Scalar());
  return absl::OkStatus();
}

RILL_REGISTER_OP("TensorArrayV3")
    .Input("size: int32")
    .Output("handle: resource")
    .Output("flow: float")
    .Attr("dtype: type")
    .Attr("element_shape: shape = { unknown_rank: true }")
    .Attr("dynamic_size: bool = false")
    .Attr("clear_after_read: bool = true")
    .Attr("identical_element_shapes: bool = false")
    .Attr("tensor_array_name: string = ''")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(ScalarInput(c, 0, "size"));
      c->set_output(0, PartialTensorShape::Scalar());
      c->set_output(1, PartialTensorShape::Scalar());
      return absl::OkStatus();
    });

RILL_REGISTER_OP("TensorArrayGradV3")
    .Input("handle: resource")
    .Input("flow_in: float")
    .Output("grad_handle: resource")
    .Output("flow_out: float")
    .Attr("source: string")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("TensorArrayGradWithShape")
    .Input("handle: resource")
    .Input("flow_in: float")
    .Input("shape_to_prepend: int32")
    .Output("grad_handle: resource")
    .Output("flow_out: float")
    .Attr("source: string")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("TensorArrayWriteV3")
    .Input("handle: resource")
    .Input("index: int32")
    .Input("value: T")
    .Input("flow_in: float")
    .Output("flow_out: float")
    .Attr("T: type")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(ScalarInput(c, 1, "index"));
      return FlowOut(c);
    });

RILL_REGISTER_OP("TensorArrayReadV3")
    .Input("handle: resource")
    .Input("index: int32")
    .Input("flow_in: float")
    .Output("value: dtype")
    .Attr("dtype: type")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(ScalarInput(c, 1, "index"));
      c->set_output(0, PartialTensorShape());
      return absl::OkStatus();
    });

RILL_REGISTER_OP("TensorArrayGatherV3")
    .Input("handle: resource")
    .Input("indices: int32")
    .Input("flow_in: float")
    .Output("value: dtype")
    .Attr("dtype: type")
    .Attr("element_shape: shape = { unknown_rank: true }")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(VectorInput(c, 1, "indices"));
      return StackedByAttr(c, "element_shape");
    });

RILL_REGISTER_OP("TensorArrayScatterV3")
    .Input("handle: resource")
    .Input("indices: int32")
    .Input("value: T")
    .Input("flow_in: float")
    .Output("flow_out: float")
    .Attr("T: type")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(VectorInput(c, 1, "indices"));
      return FlowOut(c);
    });

RILL_REGISTER_OP("TensorArrayConcatV3")
    .Input("handle: resource")
    .Input("flow_in: float")
    .Output("value: dtype")
    .Output("lengths: int64")
    .Attr("dtype: type")
    .Attr("element_shape_except0: shape = { unknown_rank: true }")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(StackedByAttr(c, "element_shape_except0"));
      c->set_output(1, PartialTensorShape({-1}));
      return absl::OkStatus();
    });

RILL_REGISTER_OP("TensorArraySplitV3")
    .Input("handle: resource")
    .Input("value: T")
    .Input("lengths: int64")
    .Input("flow_in: float")
    .Output("flow_out: float")
    .Attr("T: type")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(VectorInput(c, 2, "lengths"));
      return FlowOut(c);
    });

RILL_REGISTER_OP("TensorArraySizeV3")
    .Input("handle: resource")
    .Input("flow_in: float")
    .Output("size: int32")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("TensorArrayCloseV3")
    .Input("handle: resource")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("StackV2")
    .Input("max_size: int32")
    .Output("handle: resource")
    .Attr("elem_type: type")
    .Attr("stack_name: string = ''")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(ScalarInput(c, 0, "max_size"));
      c->set_output(0, PartialTensorShape::Scalar());
      return absl::OkStatus();
    });

RILL_REGISTER_OP("StackPushV2")
    .Input("handle: resource")
    .Input("elem: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("swap_memory: bool = false")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->input(1));
      return absl::OkStatus();
    });

RILL_REGISTER_OP("StackPopV2")
    .Input("handle: resource")
    .Output("elem: elem_type")
    .Attr("elem_type: type")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("StackCloseV2")
    .Input("handle: resource")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

}  // namespace
}  // namespace rill
