// Resource variables (TensorFlow 2's default): VarHandleOp (the VariableOp
// kernel of variable_ops.cc) names a Var in the device's ResourceMgr; the
// handle travels to its consumers as a ref to the variable's tensor (the
// placer keeps them on the variable's device). Reads share the current buffer;
// writes never change a buffer a reader may hold: Assign installs a new one,
// and AssignAdd/Sub update in place only when no reader holds the buffer
// (copy-on-write otherwise).
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/variable_update.h"

namespace rill {
namespace {

class ReadVariableOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(Tensor value, ReadResourceVariable(ctx, output_type(0)));
    ctx->set_output(0, std::move(value));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// VariableShape: the variable's current shape, as int32 or int64.
class VariableShapeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    if (!ctx->input_is_ref(0)) {
      return ctx->InvalidArgument("expected a resource handle");
    }
    TensorShape shape;
    {
      absl::MutexLock lock(ctx->input_ref_mutex(0));
      const Tensor* value = ctx->mutable_input(0);
      if (!value->IsInitialized()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "node '", name(), "': the shape of an uninitialized variable"));
      }
      shape = value->shape();
    }
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output(0, TensorShape({shape.dims()})));
    for (int d = 0; d < shape.dims(); ++d) {
      if (output_type(0) == DT_INT64) {
        out->flat<int64_t>()[d] = shape.dim_size(d);
      } else {
        out->flat<int32_t>()[d] = static_cast<int32_t>(shape.dim_size(d));
      }
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class AssignVariableOp : public OpKernel {
 public:
  explicit AssignVariableOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("validate_shape", &validate_shape_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (!ctx->input_is_ref(0))
      return ctx->InvalidArgument("expected a resource handle");
    const Tensor& value = ctx->input(1);
    ASSIGN_OR_RETURN(Tensor copy, value.DeepCopy(ctx->allocator()));
    absl::MutexLock lock(ctx->input_ref_mutex(0));
    Tensor* var = ctx->mutable_input(0);
    if (validate_shape_ && var->IsInitialized() &&
        var->shape() != value.shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "cannot assign a value of shape ", value.shape().DebugString(),
          " to a variable of shape ", var->shape().DebugString()));
    }
    *var = std::move(copy);  // Readers keep the old buffer.
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  bool validate_shape_ = false;
};

template <bool kAdd>
struct UpdateVariable {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      if (!ctx->input_is_ref(0))
        return ctx->InvalidArgument("expected a resource handle");
      const Tensor& delta = ctx->input(1);
      absl::MutexLock lock(ctx->input_ref_mutex(0));
      Tensor* var = ctx->mutable_input(0);
      if (!var->IsInitialized()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "node '", name(),
            "': updating a resource variable that is uninitialized"));
      }
      if (var->shape() == delta.shape() && !var->RefCountIsOne()) {
        // A reader holds the buffer: copy first, so its snapshot stays.
        ASSIGN_OR_RETURN(*var, var->DeepCopy(ctx->allocator()));
      }
      return UpdateVariableInPlace<T, kAdd>(ctx, var, delta);
    }
    bool IsExpensive() const override { return false; }
  };
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<ReadVariableOp>(KernelDef("ReadVariableOp", kDeviceCpu));
  RegisterKernel<VariableShapeOp>(KernelDef("VariableShape", kDeviceCpu));
  RegisterKernel<AssignVariableOp>(KernelDef("AssignVariableOp", kDeviceCpu));
  RegisterKernelForTypes<UpdateVariable<true>::Op, float, double, int32_t,
                         int64_t>(KernelDef("AssignAddVariableOp", kDeviceCpu),
                                  "dtype");
  RegisterKernelForTypes<UpdateVariable<false>::Op, float, double, int32_t,
                         int64_t>(KernelDef("AssignSubVariableOp", kDeviceCpu),
                                  "dtype");
  return true;
}();

}  // namespace
}  // namespace rill
