// Reference variables: VariableV2 outputs a ref to a tensor that lives in
// the device's ResourceMgr across steps; Assign, AssignAdd and AssignSub
// change it in place under its lock, so consumers of the ref read the live
// buffer (TensorFlow's ref semantics).
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/variable_update.h"

namespace rill {
namespace {

// VariableV2 and VarHandleOp: find or create the Var named (container,
// shared_name or the node's name) and output a ref to its tensor. (A
// resource handle travels as such a ref; see resource_variable_ops.cc.)
class VariableOp : public OpKernel {
 public:
  explicit VariableOp(OpKernelConstruction* c) : OpKernel(c) {
    status_.Update(c->GetAttr("container", &container_));
    status_.Update(c->GetAttr("shared_name", &shared_name_));
    status_.Update(c->GetAttr("dtype", &dtype_));
    if (shared_name_.empty()) shared_name_ = c->node().name();
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(
        std::shared_ptr<Var> var,
        ctx->resources()->LookupOrCreate<Var>(container_, shared_name_, [&] {
          return std::make_shared<Var>(dtype_);
        }));
    if (var->dtype() != dtype_) {
      return ctx->InvalidArgument(absl::StrCat("variable '", shared_name_,
                                               "' already exists with dtype ",
                                               DataTypeName(var->dtype())));
    }
    // The resource outlives the step; the ref stays valid while it exists.
    ctx->set_output_ref(0, var->mu(), var->tensor(), &shared_name_);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  std::string container_;
  std::string shared_name_;
  DataType dtype_ = DT_INVALID;
};

class AssignOp : public OpKernel {
 public:
  explicit AssignOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("validate_shape", &validate_shape_);
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& value = ctx->input(1);
    {
      absl::MutexLock lock(ctx->input_ref_mutex(0));
      Tensor* var = ctx->mutable_input(0);
      if (validate_shape_ && var->IsInitialized() &&
          var->shape() != value.shape()) {
        return ctx->InvalidArgument(absl::StrCat(
            "cannot assign a value of shape ", value.shape().DebugString(),
            " to a variable of shape ", var->shape().DebugString()));
      }
      if (var->IsInitialized() && var->shape() == value.shape() &&
          var->dtype() != DT_STRING) {
        // Copy into the existing buffer, so that tensors already handed out
        // for this variable see the new value.
        std::memcpy(var->raw_data(), value.raw_data(), value.TotalBytes());
      } else {
        ASSIGN_OR_RETURN(*var, value.DeepCopy(ctx->allocator()));
      }
    }
    ctx->forward_ref_input_to_ref_output(0, 0);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  bool validate_shape_ = true;
};

template <bool kAdd>
struct AssignUpdate {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      const Tensor& value = ctx->input(1);
      {
        absl::MutexLock lock(ctx->input_ref_mutex(0));
        Tensor* var = ctx->mutable_input(0);
        if (!var->IsInitialized()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "attempting to use uninitialized value in node '", name(), "'"));
        }
        RETURN_IF_ERROR((UpdateVariableInPlace<T, kAdd>(ctx, var, value)));
      }
      ctx->forward_ref_input_to_ref_output(0, 0);
      return absl::OkStatus();
    }
    bool IsExpensive() const override { return false; }
  };
};

class IsVariableInitializedOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    bool initialized;
    {
      absl::MutexLock lock(ctx->input_ref_mutex(0));
      initialized = ctx->mutable_input(0)->IsInitialized();
    }
    ctx->set_output(0, Tensor::Scalar<bool>(initialized));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<VariableOp>(KernelDef("VariableV2", kDeviceCpu));
  RegisterKernel<VariableOp>(KernelDef("VarHandleOp", kDeviceCpu));
  RegisterKernel<AssignOp>(KernelDef("Assign", kDeviceCpu));
  RegisterKernelForTypes<AssignUpdate<true>::Op, float, double, int32_t,
                         int64_t>(KernelDef("AssignAdd", kDeviceCpu), "T");
  RegisterKernelForTypes<AssignUpdate<false>::Op, float, double, int32_t,
                         int64_t>(KernelDef("AssignSub", kDeviceCpu), "T");
  // The resource variant's handle is a ref too (resource_variable_ops.cc).
  for (const char* op : {"IsVariableInitialized", "VarIsInitializedOp"}) {
    RegisterKernel<IsVariableInitializedOp>(KernelDef(op, kDeviceCpu));
  }
  return true;
}();

}  // namespace
}  // namespace rill
