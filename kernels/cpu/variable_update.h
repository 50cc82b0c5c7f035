// The in-place update shared by AssignAdd/AssignSub (ref variables) and
// AssignAddVariableOp/AssignSubVariableOp (resource variables), and the
// read shared by the kernels that read resource variables.
#ifndef RILL_KERNELS_CPU_VARIABLE_UPDATE_H_
#define RILL_KERNELS_CPU_VARIABLE_UPDATE_H_

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "core/framework/op_kernel.h"

namespace rill {

// var += delta (kAdd) or var -= delta, element-wise; the caller holds the
// variable's lock. INVALID_ARGUMENT when the shapes differ.
template <typename T, bool kAdd>
absl::Status UpdateVariableInPlace(const OpKernelContext* ctx, Tensor* var,
                                   const Tensor& delta) {
  if (var->shape() != delta.shape()) {
    return ctx->InvalidArgument(absl::StrCat(
        "update of shape ", delta.shape().DebugString(),
        " does not match the variable of shape ", var->shape().DebugString()));
  }
  auto v = var->flat<T>();
  auto d = delta.flat<T>();
  for (size_t i = 0; i < v.size(); ++i) {
    if constexpr (std::is_integral_v<T>) {
      // Integers wrap on overflow, as in TensorFlow: computed unsigned, so
      // the wrap is defined behavior.
      using U = std::make_unsigned_t<T>;
      const U a = static_cast<U>(v[i]), b = static_cast<U>(d[i]);
      v[i] = static_cast<T>(kAdd ? a + b : a - b);
    } else {
      v[i] = kAdd ? v[i] + d[i] : v[i] - d[i];
    }
  }
  return absl::OkStatus();
}

// The current value of the resource variable behind handle input 0 (a
// shared handle to its buffer, taken under its lock), checked to be
// initialized and of `dtype`; for ReadVariableOp and ResourceGather.
inline absl::StatusOr<Tensor> ReadResourceVariable(OpKernelContext* ctx,
                                                   DataType dtype) {
  if (!ctx->input_is_ref(0)) {
    return ctx->InvalidArgument("expected a resource handle");
  }
  Tensor value;
  {
    absl::MutexLock lock(ctx->input_ref_mutex(0));
    value = *ctx->mutable_input(0);
  }
  if (!value.IsInitialized()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node '", ctx->kernel().name(),
                     "': reading a resource variable that is uninitialized"));
  }
  if (value.dtype() != dtype) {
    return ctx->InvalidArgument(
        absl::StrCat("variable holds ", DataTypeName(value.dtype()),
                     ", read as ", DataTypeName(dtype)));
  }
  return value;
}

}  // namespace rill

#endif  // RILL_KERNELS_CPU_VARIABLE_UPDATE_H_
