// Collectives (TensorFlow's V2 ops): every member of a group of group_size
// devices runs one node with the same group_key and instance_key, and the
// runtime's CollectiveExecutor pairs them up. Schemas follow TensorFlow's;
// the CPU kernels take float, double, int32 and int64 (and bool for
// broadcasts); a half or bfloat16 member finds no kernel.
#include <vector>

#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status ScalarKeys(InferenceContext* c, int first) {
  for (int i = first; i < first + 3; ++i) {
    RETURN_IF_ERROR(c->WithRank(i, 0).status());
  }
  return absl::OkStatus();
}

absl::Status ReduceShape(InferenceContext* c) {
  RETURN_IF_ERROR(ScalarKeys(c, 1));
  c->set_output(0, c->input(0));
  return absl::OkStatus();
}

// Members' first dimensions may differ: only the others are known.
absl::Status GatherShape(InferenceContext* c) {
  RETURN_IF_ERROR(ScalarKeys(c, 1));
  RETURN_IF_ERROR(c->WithRankAtLeast(0, 1));
  const PartialTensorShape& in = c->input(0);
  if (in.unknown_rank()) {
    c->set_output(0, in);
    return absl::OkStatus();
  }
  std::vector<int64_t> dims(in.dim_sizes().begin(), in.dim_sizes().end());
  dims[0] = -1;
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status BcastRecvShape(InferenceContext* c) {
  RETURN_IF_ERROR(ScalarKeys(c, 0));
  ASSIGN_OR_RETURN(PartialTensorShape shape, c->ShapeFromShapeTensor(3));
  c->set_output(0, shape);
  return absl::OkStatus();
}

RILL_REGISTER_OP("CollectiveReduceV2")
    .Input("input: T")
    .Input("group_size: int32")
    .Input("group_key: int32")
    .Input("instance_key: int32")
    .Input("ordering_token: Nordering_token * resource")
    .Output("data: T")
    .Attr("T: {bfloat16, float, half, double, int32, int64}")
    .Attr("merge_op: {'Min', 'Max', 'Mul', 'Add'}")
    .Attr("final_op: {'Id', 'Div'}")
    .Attr("communication_hint: string = 'auto'")
    .Attr("timeout_seconds: float = 0")
    .Attr("is_stateless: bool = false")
    .Attr("Nordering_token: int >= 0 = 0")
    .Attr("max_subdivs_per_device: int = -1")
    .SetIsStateful()
    .SetIsDistributedCommunication()
    .SetShapeFn(ReduceShape);

RILL_REGISTER_OP("CollectiveGatherV2")
    .Input("input: T")
    .Input("group_size: int32")
    .Input("group_key: int32")
    .Input("instance_key: int32")
    .Input("ordering_token: Nordering_token * resource")
    .Output("data: T")
    .Attr("T: {float, half, double, int32, int64}")
    .Attr("communication_hint: string = 'auto'")
    .Attr("timeout_seconds: float = 0")
    .Attr("is_stateless: bool = false")
    .Attr("Nordering_token: int >= 0 = 0")
    .SetIsStateful()
    .SetIsDistributedCommunication()
    .SetShapeFn(GatherShape);

RILL_REGISTER_OP("CollectiveBcastSendV2")
    .Input("input: T")
    .Input("group_size: int32")
    .Input("group_key: int32")
    .Input("instance_key: int32")
    .Output("data: T")
    .Attr("T: {bool, float, half, double, int32, int64}")
    .Attr("communication_hint: string = 'auto'")
    .Attr("timeout_seconds: float = 0")
    .SetIsStateful()
    .SetIsDistributedCommunication()
    .SetShapeFn(ReduceShape);

RILL_REGISTER_OP("CollectiveBcastRecvV2")
    .Input("group_size: int32")
    .Input("group_key: int32")
    .Input("instance_key: int32")
    .Input("shape: Tshape")
    .Output("data: T")
    .Attr("T: {bool, float, half, double, int32, int64}")
    .Attr("Tshape: {int32, int64} = DT_INT32")
    .Attr("communication_hint: string = 'auto'")
    .Attr("timeout_seconds: float = 0")
    .SetIsStateful()
    .SetIsDistributedCommunication()
    .SetShapeFn(BcastRecvShape);

}  // namespace
}  // namespace rill
