// Queues and conditional accumulators with TensorFlow's schemas: what
// tf.compat.v1.train.SyncReplicasOptimizer builds (a FIFOQueueV2 of tokens,
// one ConditionalAccumulator per gradient) and what queue-based input
// pipelines use. The state lives in the device's ResourceMgr; kernels in
// kernels/cpu/data_flow_ops.cc.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status NoOutputs(InferenceContext*) { return absl::OkStatus(); }

// A v1 ref handle: the string pair (container, name).
absl::Status RefHandleShape(InferenceContext* c) {
  c->set_output(0, PartialTensorShape({2}));
  return absl::OkStatus();
}

// Input `i` is a count: a scalar.
absl::Status ScalarInput(InferenceContext* c, int i, absl::string_view what) {
  if (c->input(i).dims() > 0) {
    return c->Error(absl::StrCat(what, " must be a scalar, not of shape ",
                                 c->input(i).DebugString()));
  }
  return absl::OkStatus();
}

RILL_REGISTER_OP("FIFOQueueV2")
    .Output("handle: resource")
    .Attr("component_types: list(type) >= 1")
    .Attr("shapes: list(shape) >= 0 = []")
    .Attr("capacity: int = -1")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("QueueEnqueueV2")
    .Input("handle: resource")
    .Input("components: Tcomponents")
    .Attr("Tcomponents: list(type) >= 1")
    .Attr("timeout_ms: int = -1")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("QueueEnqueueManyV2")
    .Input("handle: resource")
    .Input("components: Tcomponents")
    .Attr("Tcomponents: list(type) >= 1")
    .Attr("timeout_ms: int = -1")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("QueueDequeueV2")
    .Input("handle: resource")
    .Output("components: component_types")
    .Attr("component_types: list(type) >= 1")
    .Attr("timeout_ms: int = -1")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("QueueDequeueManyV2")
    .Input("handle: resource")
    .Input("n: int32")
    .Output("components: component_types")
    .Attr("component_types: list(type) >= 1")
    .Attr("timeout_ms: int = -1")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(ScalarInput(c, 1, "n"));
      return shape_fns::UnknownShape(c);
    });

RILL_REGISTER_OP("QueueDequeueUpToV2")
    .Input("handle: resource")
    .Input("n: int32")
    .Output("components: component_types")
    .Attr("component_types: list(type) >= 1")
    .Attr("timeout_ms: int = -1")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(ScalarInput(c, 1, "n"));
      return shape_fns::UnknownShape(c);
    });

RILL_REGISTER_OP("QueueCloseV2")
    .Input("handle: resource")
    .Attr("cancel_pending_enqueues: bool = false")
    .SetIsStateful()
    .SetShapeFn(NoOutputs);

RILL_REGISTER_OP("QueueSizeV2")
    .Input("handle: resource")
    .Output("size: int32")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("QueueIsClosedV2")
    .Input("handle: resource")
    .Output("is_closed: bool")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

// Conditional accumulators: the ref-handle family (v1) and the resource
// family (what TensorFlow 2 builds), with the same semantics.

RILL_REGISTER_OP("ConditionalAccumulator")
    .Output("handle: Ref(string)")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .Attr("shape: shape")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .Attr("reduction_type: {'MEAN', 'SUM'} = 'MEAN'")
    .SetIsStateful()
    .SetShapeFn(RefHandleShape);

RILL_REGISTER_OP("ResourceConditionalAccumulator")
    .Output("handle: resource")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .Attr("shape: shape")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .Attr("reduction_type: {'MEAN', 'SUM'} = 'MEAN'")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

absl::Status ApplyGradientShape(InferenceContext* c) {
  return ScalarInput(c, 1, "local_step");
}

RILL_REGISTER_OP("AccumulatorApplyGradient")
    .Input("handle: Ref(string)")
    .Input("local_step: int64")
    .Input("gradient: dtype")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .SetShapeFn(ApplyGradientShape);

RILL_REGISTER_OP("ResourceAccumulatorApplyGradient")
    .Input("handle: resource")
    .Input("local_step: int64")
    .Input("gradient: dtype")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .SetIsStateful()
    .SetShapeFn(ApplyGradientShape);

absl::Status TakeGradientShape(InferenceContext* c) {
  RETURN_IF_ERROR(ScalarInput(c, 1, "num_required"));
  return shape_fns::UnknownShape(c);
}

RILL_REGISTER_OP("AccumulatorTakeGradient")
    .Input("handle: Ref(string)")
    .Input("num_required: int32")
    .Output("average: dtype")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .SetShapeFn(TakeGradientShape);

RILL_REGISTER_OP("ResourceAccumulatorTakeGradient")
    .Input("handle: resource")
    .Input("num_required: int32")
    .Output("average: dtype")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .SetIsStateful()
    .SetShapeFn(TakeGradientShape);

RILL_REGISTER_OP("AccumulatorNumAccumulated")
    .Input("handle: Ref(string)")
    .Output("num_accumulated: int32")
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("ResourceAccumulatorNumAccumulated")
    .Input("handle: resource")
    .Output("num_accumulated: int32")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

absl::Status SetGlobalStepShape(InferenceContext* c) {
  return ScalarInput(c, 1, "new_global_step");
}

RILL_REGISTER_OP("AccumulatorSetGlobalStep")
    .Input("handle: Ref(string)")
    .Input("new_global_step: int64")
    .SetShapeFn(SetGlobalStepShape);

RILL_REGISTER_OP("ResourceAccumulatorSetGlobalStep")
    .Input("handle: resource")
    .Input("new_global_step: int64")
    .SetIsStateful()
    .SetShapeFn(SetGlobalStepShape);

// The sparse family (IndexedSlices gradients: indices, values, shape).
RILL_REGISTER_OP("SparseConditionalAccumulator")
    .Output("handle: Ref(string)")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .Attr("shape: shape")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .Attr("reduction_type: {'MEAN', 'SUM'} = 'MEAN'")
    .SetIsStateful()
    .SetShapeFn(RefHandleShape);

RILL_REGISTER_OP("SparseAccumulatorApplyGradient")
    .Input("handle: Ref(string)")
    .Input("local_step: int64")
    .Input("gradient_indices: int64")
    .Input("gradient_values: dtype")
    .Input("gradient_shape: int64")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .Attr("has_known_shape: bool")
    .SetShapeFn(ApplyGradientShape);

RILL_REGISTER_OP("SparseAccumulatorTakeGradient")
    .Input("handle: Ref(string)")
    .Input("num_required: int32")
    .Output("indices: int64")
    .Output("values: dtype")
    .Output("shape: int64")
    .Attr(absl::StrCat("dtype: ", type_sets::kNumber))
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(ScalarInput(c, 1, "num_required"));
      c->set_output(0, PartialTensorShape({-1}));
      c->set_output(1, PartialTensorShape());
      c->set_output(2, PartialTensorShape({-1}));
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
