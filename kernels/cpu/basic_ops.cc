// Kernels that move tensors without computing on them: constants,
// placeholders, identities, Switch and Merge, the step's feeds (_Arg) and
// fetches (_Retval).
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// The Const kernel parses its value once, at construction; every step
// outputs the same (shared, never mutated) tensor.
class ConstOp : public OpKernel {
 public:
  explicit ConstOp(OpKernelConstruction* c) : OpKernel(c) {
    const ::tensorflow::TensorProto* proto;
    status_ = c->GetAttr("value", &proto);
    if (status_.ok()) {
      absl::StatusOr<Tensor> t = TensorFromProto(*proto);
      if (t.ok()) {
        value_ = *std::move(t);
      } else {
        // The code is kept: a value too large for the memory limit is
        // RESOURCE_EXHAUSTED, a malformed one INVALID_ARGUMENT.
        status_ =
            absl::Status(t.status().code(),
                         absl::StrCat("node '", c->node().name(),
                                      "': bad value: ", t.status().message()));
      }
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ctx->set_output(0, value_);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  Tensor value_;
};

class PlaceholderOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext*) const override {
    return absl::InvalidArgumentError(
        absl::StrCat("you must feed a value for placeholder '", name(),
                     "' of dtype ", DataTypeName(output_type(0))));
  }
  bool IsExpensive() const override { return false; }
};

// Identity, StopGradient, PreventGradient, PlaceholderWithDefault (when not
// fed) and IdentityN: outputs are the inputs; ref inputs stay refs.
class IdentityOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      if (ctx->input_is_ref(i) && IsRefType(output_type(i))) {
        ctx->forward_ref_input_to_ref_output(i, i);
      } else {
        ctx->set_output(i, ctx->input(i));
      }
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// Switch sends `data` to output_true or output_false by `pred`; the other
// output is dead.
class SwitchOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& pred = ctx->input(1);
    if (pred.dims() != 0 || pred.dtype() != DT_BOOL) {
      return ctx->InvalidArgument(
          absl::StrCat("pred must be a bool scalar, got shape ",
                       pred.shape().DebugString()));
    }
    const int taken = pred.scalar<bool>() ? 1 : 0;
    // A resource handle travels as a ref to the resource: passed on as one.
    if (ctx->input_is_ref(0)) {
      ctx->forward_ref_input_to_ref_output(0, taken);
    } else {
      ctx->set_output(taken, ctx->input(0));
    }
    ctx->set_output_dead(1 - taken);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// The executor runs Merge once its first live input has arrived (other
// inputs stay empty) and marks it dead, without running it, when every
// input is dead.
class MergeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      if (!ctx->has_input(i)) continue;
      if (ctx->input_is_ref(i)) {
        ctx->forward_ref_input_to_ref_output(i, 0);
      } else {
        ctx->set_output(0, ctx->input(i));
      }
      ctx->set_output(1, Tensor::Scalar<int32_t>(i));
      return absl::OkStatus();
    }
    return absl::InternalError(
        absl::StrCat("node '", name(), "' (Merge) ran with no live input"));
  }
  bool IsExpensive() const override { return false; }
};

// Enter, Exit, NextIteration (and their Ref forms) and LoopCond: the input
// passed on, a ref (or resource handle) as a ref; the executor moves the
// output between loop frames and iterations.
class ForwardOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    if (ctx->input_is_ref(0)) {
      ctx->forward_ref_input_to_ref_output(0, 0);
    } else {
      ctx->set_output(0, ctx->input(0));
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class NoOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext*) const override {
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class ArgOp : public OpKernel {
 public:
  explicit ArgOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("index", &index_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (ctx->call_frame() == nullptr) {
      return absl::InternalError("_Arg run without a call frame");
    }
    ASSIGN_OR_RETURN(TensorValue v,
                     ctx->call_frame()->GetArgValue(static_cast<int>(index_)));
    if (v.is_ref()) {  // A variable passed into a function's body.
      ctx->set_output_ref(0, v.mu, v.ref, v.ref_name);
      return absl::OkStatus();
    }
    if (v.value.dtype() != output_type(0)) {
      return ctx->InvalidArgument(absl::StrCat(
          "fed a ", DataTypeName(v.value.dtype()), " tensor where ",
          DataTypeName(output_type(0)), " is expected"));
    }
    ctx->set_output(0, std::move(v.value));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  int64_t index_ = 0;
};

class RetvalOp : public OpKernel {
 public:
  explicit RetvalOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("index", &index_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (ctx->call_frame() == nullptr) {
      return absl::InternalError("_Retval run without a call frame");
    }
    if (ctx->input_is_ref(0)) {  // A variable a function's body returns.
      TensorValue v;
      v.ref = ctx->mutable_input(0);
      v.mu = ctx->input_ref_mutex(0);
      return ctx->call_frame()->SetRetvalValue(static_cast<int>(index_), v);
    }
    return ctx->call_frame()->SetRetval(static_cast<int>(index_),
                                        ctx->input(0));
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  int64_t index_ = 0;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<ConstOp>(KernelDef("Const", kDeviceCpu));
  RegisterKernel<PlaceholderOp>(KernelDef("Placeholder", kDeviceCpu));
  for (const char* op : {"Identity", "StopGradient", "PreventGradient",
                         "PlaceholderWithDefault", "IdentityN"}) {
    RegisterKernel<IdentityOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<NoOp>(KernelDef("NoOp", kDeviceCpu));
  RegisterKernel<NoOp>(KernelDef("ControlTrigger", kDeviceCpu));
  RegisterKernel<SwitchOp>(KernelDef("Switch", kDeviceCpu));
  RegisterKernel<SwitchOp>(KernelDef("RefSwitch", kDeviceCpu));
  RegisterKernel<MergeOp>(KernelDef("Merge", kDeviceCpu));
  RegisterKernel<MergeOp>(KernelDef("RefMerge", kDeviceCpu));
  for (const char* op : {"Enter", "RefEnter", "Exit", "RefExit",
                         "NextIteration", "RefNextIteration", "LoopCond"}) {
    RegisterKernel<ForwardOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<ArgOp>(KernelDef("_Arg", kDeviceCpu));
  RegisterKernel<RetvalOp>(KernelDef("_Retval", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
