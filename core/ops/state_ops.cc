// Variables: reference variables (VariableV2 + Assign*) and resource
// variables (VarHandleOp + *VariableOp), plus the first optimizer update.
// Schemas follow TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status VariableShape(InferenceContext* c) {
  PartialTensorShape shape;
  RETURN_IF_ERROR(c->GetAttr("shape", &shape));
  c->set_output(0, shape);
  return absl::OkStatus();
}

absl::Status AssignShape(InferenceContext* c) {
  bool validate = true;
  RETURN_IF_ERROR(c->GetAttr("validate_shape", &validate));
  if (!validate) {
    c->set_output(0, c->input(1));
    return absl::OkStatus();
  }
  absl::StatusOr<PartialTensorShape> m = c->input(0).Merge(c->input(1));
  if (!m.ok()) {
    return c->Error(absl::StrCat(
        "cannot assign a value of shape ", c->input(1).DebugString(),
        " to a variable of shape ", c->input(0).DebugString()));
  }
  c->set_output(0, *m);
  return absl::OkStatus();
}

absl::Status AssignUpdateShape(InferenceContext* c) {
  absl::StatusOr<PartialTensorShape> m = c->input(0).Merge(c->input(1));
  if (!m.ok()) {
    return c->Error(absl::StrCat("update of shape ", c->input(1).DebugString(),
                                 " does not match the variable of shape ",
                                 c->input(0).DebugString()));
  }
  c->set_output(0, *m);
  return absl::OkStatus();
}

absl::Status NoOutputs(InferenceContext*) { return absl::OkStatus(); }

RILL_REGISTER_OP("VariableV2")
    .Output("ref: Ref(dtype)")
    .Attr("shape: shape")
    .Attr("dtype: type")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .SetIsStateful()
    .SetShapeFn(VariableShape);

RILL_REGISTER_OP("Assign")
    .Input("ref: Ref(T)")
    .Input("value: T")
    .Output("output_ref: Ref(T)")
    .Attr("T: type")
    .Attr("validate_shape: bool = true")
    .Attr("use_locking: bool = true")
    .SetAllowsUninitializedInput()
    .SetShapeFn(AssignShape);

RILL_REGISTER_OP("AssignAdd")
    .Input("ref: Ref(T)")
    .Input("value: T")
    .Output("output_ref: Ref(T)")
    .Attr(absl::StrCat("T: ", type_sets::kNumber))
    .Attr("use_locking: bool = false")
    .SetShapeFn(AssignUpdateShape);

RILL_REGISTER_OP("AssignSub")
    .Input("ref: Ref(T)")
    .Input("value: T")
    .Output("output_ref: Ref(T)")
    .Attr(absl::StrCat("T: ", type_sets::kNumber))
    .Attr("use_locking: bool = false")
    .SetShapeFn(AssignUpdateShape);

RILL_REGISTER_OP("IsVariableInitialized")
    .Input("ref: Ref(dtype)")
    .Output("is_initialized: bool")
    .Attr("dtype: type")
    .SetAllowsUninitializedInput()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("VarHandleOp")
    .Output("resource: resource")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .Attr("debug_name: string = ''")
    .Attr("dtype: type")
    .Attr("shape: shape")
    .Attr("allowed_devices: list(string) = []")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

// The value shape of a resource variable lives in its VarHandleOp's attrs,
// which shape inference does not follow through the handle yet.
RILL_REGISTER_OP("ReadVariableOp")
    .Input("resource: resource")
    .Output("value: dtype")
    .Attr("dtype: type")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

// The shape of a resource variable's value (TensorFlow 2's gradients of
// variable reads in loops use it).
RILL_REGISTER_OP("VariableShape")
    .Input("input: resource")
    .Output("output: out_type")
    .Attr("out_type: {int32, int64} = DT_INT32")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, PartialTensorShape({-1}));
      return absl::OkStatus();
    });

RILL_REGISTER_OP("AssignVariableOp")
    .Input("resource: resource")
    .Input("value: dtype")
    .Attr("dtype: type")
    .Attr("validate_shape: bool = false")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("AssignAddVariableOp")
    .Input("resource: resource")
    .Input("value: dtype")
    .Attr("dtype: type")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("AssignSubVariableOp")
    .Input("resource: resource")
    .Input("value: dtype")
    .Attr("dtype: type")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("VarIsInitializedOp")
    .Input("resource: resource")
    .Output("is_initialized: bool")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("ResourceGather")
    .Input("resource: resource")
    .Input("indices: Tindices")
    .Output("output: dtype")
    .Attr("batch_dims: int = 0")
    .Attr("validate_indices: bool = true")
    .Attr("dtype: type")
    .Attr("Tindices: {int32, int64}")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

}  // namespace
}  // namespace rill
