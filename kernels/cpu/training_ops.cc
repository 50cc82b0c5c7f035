// Optimizer updates, in place under the variables' locks:
// ApplyGradientDescent/Momentum/Adam/Adagrad/RMSProp/CenteredRMSProp/
// Adadelta/ProximalAdagrad/ProximalGradientDescent/Ftrl/FtrlV2 with their
// ResourceApply forms, with TensorFlow's update rules; and the SparseApply
// and ResourceSparseApply forms from RMSProp on, which apply the same rule
// to the rows that `indices` (right after the gradient) names, in order (a
// repeated index is updated twice), after checking every index.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

enum class Optimizer {
  kGradientDescent,
  kMomentum,
  kAdam,
  kAdagrad,
  kRMSProp,
  kCenteredRMSProp,
  kAdadelta,
  kProximalAdagrad,
  kProximalGradientDescent,
  kFtrl,
  kFtrlV2,
};

// Where each optimizer's inputs are: the variable and its slots first (refs
// or resource handles), then scalars and the gradient (last, or for FTRL
// right after the slots).
constexpr int NumSlots(Optimizer o) {
  switch (o) {
    case Optimizer::kGradientDescent:
    case Optimizer::kProximalGradientDescent:
      return 1;
    case Optimizer::kMomentum:
    case Optimizer::kAdagrad:
    case Optimizer::kProximalAdagrad:
      return 2;
    case Optimizer::kAdam:
    case Optimizer::kRMSProp:
    case Optimizer::kAdadelta:
    case Optimizer::kFtrl:
    case Optimizer::kFtrlV2:
      return 3;
    case Optimizer::kCenteredRMSProp:
      return 4;
  }
  return 0;
}
constexpr int GradIndex(Optimizer o) {
  switch (o) {
    case Optimizer::kGradientDescent:
      return 2;
    case Optimizer::kMomentum:
      return 3;
    case Optimizer::kAdam:
      return 9;
    case Optimizer::kAdagrad:
      return 3;
    case Optimizer::kRMSProp:
      return 7;
    case Optimizer::kCenteredRMSProp:
      return 8;
    case Optimizer::kAdadelta:
      return 6;
    case Optimizer::kProximalAdagrad:
      return 5;
    case Optimizer::kProximalGradientDescent:
      return 4;
    case Optimizer::kFtrl:
    case Optimizer::kFtrlV2:
      return 3;
  }
  return 0;
}

// The proximal step of ProximalAdagrad and ProximalGradientDescent: the
// soft-threshold by lr * l1, then the shrink by 1 + lr * l2.
template <typename T>
T Proximal(T prox, T lr, T l1, T l2) {
  if (l1 > T(0)) {
    const T mag = std::max(std::abs(prox) - lr * l1, T(0));
    prox = (prox > T(0) ? mag : prox < T(0) ? -mag : T(0));
  }
  return prox / (T(1) + lr * l2);
}

// Every Apply* and its ResourceApply form: the variable and its slots are
// updated in place under their locks (for a resource variable, copied first
// when a reader still holds the buffer).
template <Optimizer kOpt>
struct ApplyOptimizer {
  template <typename T>
  class Op : public OpKernel {
   public:
    explicit Op(OpKernelConstruction* c) : OpKernel(c) {
      if (c->attrs().contains("use_nesterov")) {
        status_.Update(c->GetAttr("use_nesterov", &nesterov_));
      }
      if (c->attrs().contains("update_slots")) {
        status_.Update(c->GetAttr("update_slots", &update_slots_));
      }
      if (c->attrs().contains("multiply_linear_by_lr")) {
        status_.Update(
            c->GetAttr("multiply_linear_by_lr", &multiply_linear_by_lr_));
      }
      resource_ = type_string().rfind("Resource", 0) == 0;
      sparse_ = absl::StrContains(type_string(), "SparseApply");
    }

    absl::Status Compute(OpKernelContext* ctx) const override {
      RETURN_IF_ERROR(status_);
      constexpr int kSlots = NumSlots(kOpt);
      constexpr int kGrad = GradIndex(kOpt);
      const Tensor& grad = ctx->input(kGrad);
      // The sparse forms' indices come right after the gradient; the
      // scalars keep their dense positions in `scalar`.
      T scalar[8] = {};
      for (int i = kSlots; i < ctx->num_inputs(); ++i) {
        if (i == kGrad || (sparse_ && i == kGrad + 1)) continue;
        if (ctx->input(i).NumElements() != 1) {
          return ctx->InvalidArgument(
              absl::StrCat("input ", i, " must be a scalar, got shape ",
                           ctx->input(i).shape().DebugString()));
        }
        scalar[i - kSlots - (sparse_ && i > kGrad ? 1 : 0)] =
            ctx->input(i).flat<T>()[0];
      }
      std::vector<absl::Mutex*> locks;
      for (int i = 0; i < kSlots; ++i) {
        if (!ctx->input_is_ref(i)) {
          return ctx->InvalidArgument(
              absl::StrCat("input ", i, " must be a variable"));
        }
        locks.push_back(ctx->input_ref_mutex(i));
      }
      // One lock per variable, taken in address order: two updates of the
      // same variables never wait on each other crosswise.
      std::sort(locks.begin(), locks.end());
      locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
      for (absl::Mutex* mu : locks) mu->Lock();
      absl::Status s = Update(ctx, grad, scalar);
      for (auto it = locks.rbegin(); it != locks.rend(); ++it) (*it)->Unlock();
      RETURN_IF_ERROR(s);
      if (!resource_) ctx->forward_ref_input_to_ref_output(0, 0);
      return absl::OkStatus();
    }

   private:
    absl::Status Update(OpKernelContext* ctx, const Tensor& grad,
                        const T* scalar) const {
      constexpr int kSlots = NumSlots(kOpt);
      T* v[kSlots];
      for (int i = 0; i < kSlots; ++i) {
        Tensor* t = ctx->mutable_input(i);
        if (!t->IsInitialized()) {
          return absl::FailedPreconditionError(
              absl::StrCat("node '", name(), "': input ", i,
                           " is an uninitialized variable"));
        }
        const Tensor& like = sparse_ ? *ctx->mutable_input(0) : grad;
        if (t->shape() != like.shape()) {
          return ctx->InvalidArgument(absl::StrCat(
              "input ", i, " of shape ", t->shape().DebugString(),
              " does not match the ", sparse_ ? "variable" : "gradient",
              " of shape ", like.shape().DebugString()));
        }
        if (resource_ && !t->RefCountIsOne()) {
          ASSIGN_OR_RETURN(*t, t->DeepCopy(ctx->allocator()));
        }
        v[i] = t->flat<T>().data();
      }
      // Step's loops assume that no two of these overlap.
      for (int i = 0; i < kSlots; ++i) {
        for (int j = i + 1; j < kSlots; ++j) {
          if (v[i] == v[j]) {
            return ctx->InvalidArgument(absl::StrCat("inputs ", i, " and ", j,
                                                     " are the same variable"));
          }
        }
      }
      const T* g = grad.flat<T>().data();
      Tensor grad_copy;
      for (int i = 0; i < kSlots; ++i) {
        if (v[i] == g) {  // var -= lr * var: read the gradient from a copy.
          ASSIGN_OR_RETURN(grad_copy, grad.DeepCopy(ctx->allocator()));
          g = grad_copy.flat<T>().data();
          break;
        }
      }
      if (sparse_) return SparseStep(ctx, v, grad, g, scalar);
      ParallelFor(ctx, grad.NumElements(), 8,
                  [&](int64_t lo, int64_t hi) { Step(v, g, scalar, lo, hi); });
      return absl::OkStatus();
    }

    // The rows of the variable and slots `v` that the indices name, one
    // gradient row each, in order.
    absl::Status SparseStep(OpKernelContext* ctx, T* const* v,
                            const Tensor& grad, const T* g,
                            const T* scalar) const {
      constexpr int kSlots = NumSlots(kOpt);
      const Tensor& var = *ctx->mutable_input(0);
      const Tensor& indices = ctx->input(GradIndex(kOpt) + 1);
      if (var.dims() < 1 || indices.dims() != 1) {
        return ctx->InvalidArgument(absl::StrCat(
            "need a variable with rows and a vector of indices, got shapes ",
            var.shape().DebugString(), " and ", indices.shape().DebugString()));
      }
      const std::vector<int64_t> idx = IntValues(indices);
      const int64_t rows = var.dim_size(0);
      const int64_t row = rows == 0 ? 0 : var.NumElements() / rows;
      if (grad.dims() < 1 || grad.dim_size(0) != indices.dim_size(0) ||
          grad.NumElements() != static_cast<int64_t>(idx.size()) * row) {
        return ctx->InvalidArgument(absl::StrCat(
            "grad of shape ", grad.shape().DebugString(), " does not hold ",
            idx.size(), " rows of the variable's shape ",
            var.shape().DebugString()));
      }
      for (size_t k = 0; k < idx.size(); ++k) {
        if (idx[k] < 0 || idx[k] >= rows) {
          return ctx->InvalidArgument(absl::StrCat(
              "indices[", k, "] = ", idx[k], " is not in [0, ", rows, ")"));
        }
      }
      for (size_t k = 0; k < idx.size(); ++k) {
        T* at[kSlots];
        for (int i = 0; i < kSlots; ++i) at[i] = v[i] + idx[k] * row;
        Step(at, g + k * row, scalar, 0, row);
      }
      return absl::OkStatus();
    }

    // The update of elements [lo, hi). Each optimizer's loop gets its own
    // __restrict pointers and loop-invariant scalars so that it vectorizes.
    void Step(T* const* v, const T* __restrict g, const T* scalar, int64_t lo,
              int64_t hi) const {
      T* __restrict var = v[0];
      if constexpr (kOpt == Optimizer::kGradientDescent) {
        // alpha, delta.
        const T alpha = scalar[0];
        for (int64_t i = lo; i < hi; ++i) var[i] -= alpha * g[i];
      } else if constexpr (kOpt == Optimizer::kMomentum) {
        // lr, grad, momentum.
        T* __restrict accum = v[1];
        const T lr = scalar[0], momentum = scalar[2];
        if (nesterov_) {
          for (int64_t i = lo; i < hi; ++i) {
            accum[i] = accum[i] * momentum + g[i];
            var[i] -= g[i] * lr + accum[i] * momentum * lr;
          }
        } else {
          for (int64_t i = lo; i < hi; ++i) {
            accum[i] = accum[i] * momentum + g[i];
            var[i] -= lr * accum[i];
          }
        }
      } else if constexpr (kOpt == Optimizer::kAdam) {
        // beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad.
        T* __restrict m = v[1];
        T* __restrict s = v[2];
        const T b1p = scalar[0], b2p = scalar[1], lr = scalar[2];
        const T b1 = scalar[3], b2 = scalar[4], eps = scalar[5];
        const T alpha = lr * std::sqrt(T(1) - b2p) / (T(1) - b1p);
        const T one_minus_b1 = T(1) - b1, one_minus_b2 = T(1) - b2;
        if (nesterov_) {
          for (int64_t i = lo; i < hi; ++i) {
            m[i] += (g[i] - m[i]) * one_minus_b1;
            s[i] += (g[i] * g[i] - s[i]) * one_minus_b2;
            var[i] -= alpha * (m[i] * b1 + one_minus_b1 * g[i]) /
                      (std::sqrt(s[i]) + eps);
          }
        } else {
          for (int64_t i = lo; i < hi; ++i) {
            m[i] += (g[i] - m[i]) * one_minus_b1;
            s[i] += (g[i] * g[i] - s[i]) * one_minus_b2;
            var[i] -= alpha * m[i] / (std::sqrt(s[i]) + eps);
          }
        }
      } else if constexpr (kOpt == Optimizer::kAdagrad) {
        // lr, grad.
        T* __restrict accum = v[1];
        const T lr = scalar[0];
        if (update_slots_) {
          for (int64_t i = lo; i < hi; ++i) accum[i] += g[i] * g[i];
        }
        for (int64_t i = lo; i < hi; ++i)
          var[i] -= lr * g[i] / std::sqrt(accum[i]);
      } else if constexpr (kOpt == Optimizer::kRMSProp) {
        // lr, rho, momentum, epsilon, grad.
        T* __restrict ms = v[1];
        T* __restrict mom = v[2];
        const T lr = scalar[0], rho = scalar[1], momentum = scalar[2];
        const T eps = scalar[3];
        for (int64_t i = lo; i < hi; ++i) {
          ms[i] += (g[i] * g[i] - ms[i]) * (T(1) - rho);
          mom[i] = mom[i] * momentum + lr * g[i] / std::sqrt(ms[i] + eps);
          var[i] -= mom[i];
        }
      } else if constexpr (kOpt == Optimizer::kCenteredRMSProp) {
        // lr, rho, momentum, epsilon, grad: the mean square less the
        // squared mean gradient.
        T* __restrict mg = v[1];
        T* __restrict ms = v[2];
        T* __restrict mom = v[3];
        const T lr = scalar[0], rho = scalar[1], momentum = scalar[2];
        const T eps = scalar[3];
        for (int64_t i = lo; i < hi; ++i) {
          ms[i] += (g[i] * g[i] - ms[i]) * (T(1) - rho);
          mg[i] += (g[i] - mg[i]) * (T(1) - rho);
          const T denom = ms[i] - mg[i] * mg[i] + eps;
          mom[i] = mom[i] * momentum + lr * g[i] / std::sqrt(denom);
          var[i] -= mom[i];
        }
      } else if constexpr (kOpt == Optimizer::kAdadelta) {
        // lr, rho, epsilon, grad.
        T* __restrict accum = v[1];
        T* __restrict accum_update = v[2];
        const T lr = scalar[0], rho = scalar[1], eps = scalar[2];
        for (int64_t i = lo; i < hi; ++i) {
          accum[i] = accum[i] * rho + g[i] * g[i] * (T(1) - rho);
          const T update = std::sqrt(accum_update[i] + eps) /
                           std::sqrt(accum[i] + eps) * g[i];
          accum_update[i] =
              accum_update[i] * rho + update * update * (T(1) - rho);
          var[i] -= update * lr;
        }
      } else if constexpr (kOpt == Optimizer::kProximalAdagrad) {
        // lr, l1, l2, grad.
        T* __restrict accum = v[1];
        const T lr = scalar[0], l1 = scalar[1], l2 = scalar[2];
        for (int64_t i = lo; i < hi; ++i) {
          accum[i] += g[i] * g[i];
          const T rate = lr / std::sqrt(accum[i]);
          var[i] = Proximal(var[i] - g[i] * rate, rate, l1, l2);
        }
      } else if constexpr (kOpt == Optimizer::kProximalGradientDescent) {
        // alpha, l1, l2, delta.
        const T alpha = scalar[0], l1 = scalar[1], l2 = scalar[2];
        for (int64_t i = lo; i < hi; ++i) {
          var[i] = Proximal(var[i] - g[i] * alpha, alpha, l1, l2);
        }
      } else {
        // grad, lr, l1, l2, [l2_shrinkage,] lr_power: FTRL-Proximal.
        T* __restrict accum = v[1];
        T* __restrict linear = v[2];
        constexpr bool kV2 = kOpt == Optimizer::kFtrlV2;
        const T lr = scalar[1], l1 = scalar[2], l2 = scalar[3];
        const T shrinkage = kV2 ? scalar[4] : T(0);
        const T lr_power = kV2 ? scalar[5] : scalar[4];
        // accum^(-lr_power), with the usual -0.5 as a square root.
        auto power = [lr_power](T a) {
          return lr_power == T(-0.5) ? std::sqrt(a) : std::pow(a, -lr_power);
        };
        for (int64_t i = lo; i < hi; ++i) {
          const T shrunk = kV2 ? g[i] + T(2) * shrinkage * var[i] : g[i];
          const T new_accum = accum[i] + g[i] * g[i];
          const T sigma = power(new_accum) - power(accum[i]);
          T threshold = l1, quadratic;
          if (multiply_linear_by_lr_) {
            linear[i] += shrunk * lr - sigma * var[i];
            threshold = l1 * lr;
            quadratic = power(new_accum) + T(2) * l2 * lr;
          } else {
            linear[i] += shrunk - sigma / lr * var[i];
            quadratic = power(new_accum) / lr + T(2) * l2;
          }
          const T sign = linear[i] > T(0)   ? T(1)
                         : linear[i] < T(0) ? T(-1)
                                            : T(0);
          var[i] = std::abs(linear[i]) > threshold
                       ? (threshold * sign - linear[i]) / quadratic
                       : T(0);
          accum[i] = new_accum;
        }
      }
    }

    absl::Status status_;
    bool nesterov_ = false;
    bool update_slots_ = true;
    bool multiply_linear_by_lr_ = false;
    bool resource_ = false;
    bool sparse_ = false;
  };
};

template <Optimizer kOpt>
void RegisterOptimizer(const char* name, bool sparse = false) {
  std::vector<const char*> prefixes = {"Apply", "ResourceApply"};
  if (sparse) {
    prefixes.push_back("SparseApply");
    prefixes.push_back("ResourceSparseApply");
  }
  for (const char* prefix : prefixes) {
    RegisterKernelForTypes<ApplyOptimizer<kOpt>::template Op, float, double>(
        KernelDef(absl::StrCat(prefix, name), kDeviceCpu), "T");
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  RegisterOptimizer<Optimizer::kGradientDescent>("GradientDescent");
  RegisterOptimizer<Optimizer::kMomentum>("Momentum");
  RegisterOptimizer<Optimizer::kAdam>("Adam");
  RegisterOptimizer<Optimizer::kAdagrad>("Adagrad");
  RegisterOptimizer<Optimizer::kRMSProp>("RMSProp", /*sparse=*/true);
  RegisterOptimizer<Optimizer::kCenteredRMSProp>("CenteredRMSProp",
                                                 /*sparse=*/true);
  RegisterOptimizer<Optimizer::kAdadelta>("Adadelta", /*sparse=*/true);
  RegisterOptimizer<Optimizer::kProximalAdagrad>("ProximalAdagrad",
                                                 /*sparse=*/true);
  RegisterOptimizer<Optimizer::kProximalGradientDescent>(
      "ProximalGradientDescent", /*sparse=*/true);
  RegisterOptimizer<Optimizer::kFtrl>("Ftrl", /*sparse=*/true);
  RegisterOptimizer<Optimizer::kFtrlV2>("FtrlV2", /*sparse=*/true);
  return true;
}();

}  // namespace
}  // namespace rill
