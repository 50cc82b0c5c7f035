// CollectiveReduceV2, CollectiveGatherV2, CollectiveBcastSendV2 and
// CollectiveBcastRecvV2 on the CPU: each describes its member's part and
// hands it to the step's CollectiveExecutor, which runs the transfer on its
// own threads (no pool thread waits for the other members).
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

class CollectiveOp : public AsyncOpKernel {
 public:
  explicit CollectiveOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    const std::string& op = c->node().op();
    if (op == "CollectiveReduceV2") {
      kind_ = CollectiveKind::kReduce;
    } else if (op == "CollectiveGatherV2") {
      kind_ = CollectiveKind::kGather;
    } else if (op == "CollectiveBcastSendV2") {
      kind_ = CollectiveKind::kBcastSend;
    } else {
      kind_ = CollectiveKind::kBcastRecv;
    }
    status_ = Init(c);
  }

  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    absl::StatusOr<CollectiveRequest> request = MakeRequest(ctx);
    if (!request.ok()) {
      done(request.status());
      return;
    }
    if (ctx->collectives() == nullptr) {
      done(absl::FailedPreconditionError(absl::StrCat(
          "node '", name(), "': this runtime has no collective executor")));
      return;
    }
    // A cancelled step (a deadline, another partition's failure) stops the
    // wait for the other members.
    CollectiveExecutor* collectives = ctx->collectives();
    const StepCancellation* cancellation = ctx->cancellation();
    StepCancellation::Token token = 0;
    if (cancellation != nullptr) {
      token = cancellation->AddCallback(
          [collectives, group = request->group_key, device = request->device](
              const absl::Status&) { collectives->Cancel(group, device); });
    }
    collectives->RunAsync(*std::move(request),
                          [ctx, cancellation, token, done = std::move(done)](
                              absl::StatusOr<Tensor> result) {
                            if (cancellation != nullptr)
                              cancellation->RemoveCallback(token);
                            if (result.ok())
                              ctx->set_output(0, *std::move(result));
                            done(result.status());
                          });
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status Init(OpKernelConstruction* c) {
    RETURN_IF_ERROR(c->GetAttr("T", &dtype_));
    RETURN_IF_ERROR(c->GetAttr("communication_hint", &hint_));
    if (hint_ != "auto" && hint_ != "ring" && hint_ != "nccl") {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", name(), "': communication_hint '", hint_,
                       "' is not one of auto, ring, nccl"));
    }
    float timeout = 0;
    RETURN_IF_ERROR(c->GetAttr("timeout_seconds", &timeout));
    if (!(timeout >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", name(), "': timeout_seconds ", timeout, " is negative"));
    }
    timeout_seconds_ = timeout;
    if (kind_ == CollectiveKind::kReduce) {
      RETURN_IF_ERROR(c->GetAttr("merge_op", &merge_op_));
      RETURN_IF_ERROR(c->GetAttr("final_op", &final_op_));
    }
    return absl::OkStatus();
  }

  // The scalar int32 input i, named for errors.
  absl::StatusOr<int32_t> Key(OpKernelContext* ctx, int i,
                              const char* what) const {
    const Tensor& t = ctx->input(i);
    if (t.dtype() != DT_INT32 || t.NumElements() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          what, " must be an int32 scalar, not ", t.DebugString()));
    }
    return t.flat<int32_t>()[0];
  }

  absl::StatusOr<CollectiveRequest> MakeRequest(OpKernelContext* ctx) const {
    RETURN_IF_ERROR(status_);
    CollectiveRequest r;
    r.kind = kind_;
    const int first = kind_ == CollectiveKind::kBcastRecv ? 0 : 1;
    ASSIGN_OR_RETURN(r.group_size, Key(ctx, first, "group_size"));
    ASSIGN_OR_RETURN(r.group_key, Key(ctx, first + 1, "group_key"));
    ASSIGN_OR_RETURN(r.instance_key, Key(ctx, first + 2, "instance_key"));
    if (r.group_size < 1) {
      return ctx->InvalidArgument(
          absl::StrCat("group_size ", r.group_size, " is not positive"));
    }
    r.merge_op = merge_op_;
    r.final_op = final_op_;
    r.communication_hint = hint_;
    r.timeout_seconds = timeout_seconds_;
    r.device = ctx->device_name();
    r.node = name();
    r.allocator = ctx->allocator();
    r.cancellation = ctx->cancellation();
    r.dtype = dtype_;
    if (kind_ == CollectiveKind::kBcastRecv) {
      const Tensor& shape = ctx->input(3);
      if (shape.dims() != 1) {
        return ctx->InvalidArgument(absl::StrCat("shape must be a vector, not ",
                                                 shape.shape().DebugString()));
      }
      absl::StatusOr<TensorShape> s = TensorShape::Create(IntValues(shape));
      if (!s.ok()) {
        return ctx->InvalidArgument(absl::StrCat("shape ", shape.DebugString(),
                                                 ": ", s.status().message()));
      }
      r.shape = *s;
    } else {
      r.shape = ctx->input(0).shape();
      if (kind_ == CollectiveKind::kReduce) {
        // Reduce in place: in the input's own buffer when this step holds
        // the only reference to it, else in a copy.
        const void* in_data = ctx->input(0).raw_data();
        ASSIGN_OR_RETURN(Tensor * out,
                         ctx->forward_input_or_allocate_output(0, 0, r.shape));
        if (out->raw_data() != in_data && out->TotalBytes() > 0) {
          std::memcpy(out->raw_data(), ctx->input(0).raw_data(),
                      out->TotalBytes());
        }
        r.output = *out;
        r.input = r.output;
      } else {
        r.input = ctx->input(0);
      }
      if (kind_ == CollectiveKind::kGather && r.input.dims() == 0) {
        return ctx->InvalidArgument("a gathered input must have rank >= 1");
      }
    }
    return r;
  }

  CollectiveKind kind_;
  absl::Status status_;
  DataType dtype_ = ::tensorflow::DT_INVALID;
  std::string merge_op_ = "Add";
  std::string final_op_ = "Id";
  std::string hint_ = "auto";
  double timeout_seconds_ = 0;
};

[[maybe_unused]] const bool kRegistered = [] {
  const std::vector<DataType> reduced = {DT_FLOAT, DT_DOUBLE, DT_INT32,
                                         DT_INT64};
  std::vector<DataType> sent = reduced;
  sent.push_back(DT_BOOL);
  RegisterKernel<CollectiveOp>(
      KernelDef("CollectiveReduceV2", kDeviceCpu).TypeConstraint("T", reduced));
  RegisterKernel<CollectiveOp>(
      KernelDef("CollectiveGatherV2", kDeviceCpu).TypeConstraint("T", reduced));
  RegisterKernel<CollectiveOp>(
      KernelDef("CollectiveBcastSendV2", kDeviceCpu).TypeConstraint("T", sent));
  RegisterKernel<CollectiveOp>(
      KernelDef("CollectiveBcastRecvV2", kDeviceCpu).TypeConstraint("T", sent));
  return true;
}();

}  // namespace
}  // namespace rill
