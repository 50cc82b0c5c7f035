// TensorList ops, TensorFlow 2's lists of tensors in a DT_VARIANT scalar:
// what tf.TensorArray and v2 control flow's gradient accumulators build.
// An element_shape input is an int vector with -1 for unknown dimensions,
// or the scalar -1 for an unknown rank. Schemas follow TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// The shape an element_shape input names, as far as it is known.
absl::StatusOr<PartialTensorShape> ElementShape(InferenceContext* c, int i) {
  ASSIGN_OR_RETURN(auto values, c->ConstantInts(i));
  if (values.has_value() && c->input_tensor(i)->dims() == 0) {
    return PartialTensorShape::UnknownRank();
  }
  return c->ShapeFromShapeTensor(i);
}

absl::Status ListOutput(InferenceContext* c) {
  c->set_output(0, PartialTensorShape::Scalar());
  return absl::OkStatus();
}

// Output `out` is an element, of the shape input `shape_input` names.
absl::Status ElementOutput(InferenceContext* c, int out, int shape_input) {
  ASSIGN_OR_RETURN(PartialTensorShape shape, ElementShape(c, shape_input));
  c->set_output(out, std::move(shape));
  return absl::OkStatus();
}

// Output 0 is elements stacked: [n] + the element shape input names.
absl::Status StackedOutput(InferenceContext* c, int shape_input) {
  ASSIGN_OR_RETURN(PartialTensorShape element, ElementShape(c, shape_input));
  if (element.unknown_rank()) {
    c->set_output(0, PartialTensorShape());
    return absl::OkStatus();
  }
  PartialTensorShape out({-1});
  for (int d = 0; d < element.dims(); ++d) out.AddDim(element.dim_size(d));
  c->set_output(0, std::move(out));
  return absl::OkStatus();
}

RILL_REGISTER_OP("EmptyTensorList")
    .Input("element_shape: shape_type")
    .Input("max_num_elements: int32")
    .Output("handle: variant")
    .Attr("element_dtype: type")
    .Attr("shape_type: {int32, int64}")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListReserve")
    .Input("element_shape: shape_type")
    .Input("num_elements: int32")
    .Output("handle: variant")
    .Attr("element_dtype: type")
    .Attr("shape_type: {int32, int64}")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListFromTensor")
    .Input("tensor: element_dtype")
    .Input("element_shape: shape_type")
    .Output("output_handle: variant")
    .Attr("element_dtype: type")
    .Attr("shape_type: {int32, int64}")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListPushBack")
    .Input("input_handle: variant")
    .Input("tensor: element_dtype")
    .Output("output_handle: variant")
    .Attr("element_dtype: type")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListPopBack")
    .Input("input_handle: variant")
    .Input("element_shape: int32")
    .Output("output_handle: variant")
    .Output("tensor: element_dtype")
    .Attr("element_dtype: type")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(ListOutput(c));
      return ElementOutput(c, 1, 1);
    });

RILL_REGISTER_OP("TensorListSetItem")
    .Input("input_handle: variant")
    .Input("index: int32")
    .Input("item: element_dtype")
    .Output("output_handle: variant")
    .Attr("element_dtype: type")
    .Attr("resize_if_index_out_of_bounds: bool = false")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListGetItem")
    .Input("input_handle: variant")
    .Input("index: int32")
    .Input("element_shape: Tshape")
    .Output("item: element_dtype")
    .Attr("element_dtype: type")
    .Attr("Tshape: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) { return ElementOutput(c, 0, 2); });

RILL_REGISTER_OP("TensorListStack")
    .Input("input_handle: variant")
    .Input("element_shape: int32")
    .Output("tensor: element_dtype")
    .Attr("element_dtype: type")
    .Attr("num_elements: int = -1")
    .SetShapeFn([](InferenceContext* c) { return StackedOutput(c, 1); });

RILL_REGISTER_OP("TensorListGather")
    .Input("input_handle: variant")
    .Input("indices: int32")
    .Input("element_shape: int32")
    .Output("values: element_dtype")
    .Attr("element_dtype: type")
    .SetShapeFn([](InferenceContext* c) { return StackedOutput(c, 2); });

RILL_REGISTER_OP("TensorListScatterIntoExistingList")
    .Input("input_handle: variant")
    .Input("tensor: element_dtype")
    .Input("indices: int32")
    .Output("output_handle: variant")
    .Attr("element_dtype: type")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListResize")
    .Input("input_handle: variant")
    .Input("size: int32")
    .Output("output_handle: variant")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("TensorListLength")
    .Input("input_handle: variant")
    .Output("length: int32")
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("TensorListElementShape")
    .Input("input_handle: variant")
    .Output("element_shape: shape_type")
    .Attr("shape_type: {int32, int64}")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      c->set_output(0, PartialTensorShape::UnknownRank());
      return absl::OkStatus();
    });

// Optionals (tf.experimental.Optional, and v2 cond's gradient
// intermediates): a variant scalar holding a tuple of tensors, or nothing.
RILL_REGISTER_OP("OptionalFromValue")
    .Input("components: Toutput_types")
    .Output("optional: variant")
    .Attr("Toutput_types: list(type) >= 1")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("OptionalNone")
    .Output("optional: variant")
    .SetShapeFn(ListOutput);

RILL_REGISTER_OP("OptionalHasValue")
    .Input("optional: variant")
    .Output("has_value: bool")
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("OptionalGetValue")
    .Input("optional: variant")
    .Output("components: output_types")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      std::vector<PartialTensorShape> shapes;
      RETURN_IF_ERROR(c->GetAttr("output_shapes", &shapes));
      if (static_cast<int>(shapes.size()) != c->num_outputs()) {
        return c->Error(absl::StrCat("output_shapes has ", shapes.size(),
                                     " shapes for ", c->num_outputs(),
                                     " output_types"));
      }
      for (int i = 0; i < c->num_outputs(); ++i) {
        c->set_output(i, shapes[i]);
      }
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
