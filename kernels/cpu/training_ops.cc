// Optimizer updates on reference variables, in place under the variable's
// lock. (More optimizers come with the training issue.)
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// var -= alpha * delta
template <typename T>
class ApplyGradientDescentOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& alpha = ctx->input(1);
    const Tensor& delta = ctx->input(2);
    if (alpha.NumElements() != 1)
      return ctx->InvalidArgument("alpha must be a scalar");
    {
      absl::MutexLock lock(ctx->input_ref_mutex(0));
      Tensor* var = ctx->mutable_input(0);
      if (var->shape() != delta.shape()) {
        return ctx->InvalidArgument(absl::StrCat(
            "var of shape ", var->shape().DebugString(), " and delta of shape ",
            delta.shape().DebugString(), " differ"));
      }
      const T a = alpha.flat<T>()[0];
      auto v = var->flat<T>();
      auto d = delta.flat<T>();
      ParallelFor(ctx, v.size(), 2, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) v[i] -= a * d[i];
      });
    }
    ctx->forward_ref_input_to_ref_output(0, 0);
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<ApplyGradientDescentOp, float, double>(
      KernelDef("ApplyGradientDescent", kDeviceCpu), "T");
  return true;
}();

}  // namespace
}  // namespace rill
