// Row updates of variables, for IndexedSlices gradients: Scatter{Add,Sub,
// Update} (reference variables) and ResourceScatter{Add,Sub,Update},
// SparseApply{Adagrad,Momentum} and their ResourceSparseApply forms, with
// TensorFlow's update rules applied to the rows that `indices` name, in
// order (a repeated index is updated twice). Every index is checked before
// any row changes. DisableCopyOnRead checks its handle (reads here never
// copy).
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

bool IsResourceOp(const OpKernel& k) {
  return k.type_string().rfind("Resource", 0) == 0;
}

// The variable of ref/resource input `i`, ready for an update in place
// under its lock (held by the caller): initialized, at least a vector,
// and (resource variables) not shared with a reader.
absl::StatusOr<Tensor*> RowsToUpdate(OpKernelContext* ctx, int i) {
  if (!ctx->input_is_ref(i)) {
    return ctx->InvalidArgument(
        absl::StrCat("input ", i, " is not a variable"));
  }
  Tensor* var = ctx->mutable_input(i);
  if (!var->IsInitialized()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node '", ctx->kernel().name(), "': input ", i,
                     " is an uninitialized variable"));
  }
  if (var->dims() < 1) {
    return ctx->InvalidArgument(absl::StrCat("input ", i,
                                             " must have rows, not shape ",
                                             var->shape().DebugString()));
  }
  if (IsResourceOp(ctx->kernel()) && !var->RefCountIsOne()) {
    ASSIGN_OR_RETURN(*var, var->DeepCopy(ctx->allocator()));
  }
  return var;
}

// The row indices, each checked against `rows`; `values` (updates or
// gradient) must hold one row of `row_shape` per index.
absl::StatusOr<std::vector<int64_t>> CheckedIndices(OpKernelContext* ctx,
                                                    const Tensor& indices,
                                                    const Tensor& values,
                                                    const Tensor& var,
                                                    const char* what) {
  std::vector<int64_t> idx = IntValues(indices);
  const int64_t rows = var.dim_size(0);
  for (size_t k = 0; k < idx.size(); ++k) {
    if (idx[k] < 0 || idx[k] >= rows) {
      return ctx->InvalidArgument(absl::StrCat("indices[", k, "] = ", idx[k],
                                               " is not in [0, ", rows, ")"));
    }
  }
  const int64_t row = rows == 0 ? 0 : var.NumElements() / rows;
  if (values.NumElements() != static_cast<int64_t>(idx.size()) * row) {
    return ctx->InvalidArgument(absl::StrCat(
        what, " of shape ", values.shape().DebugString(), " do not hold ",
        idx.size(), " rows of the variable's shape ",
        var.shape().DebugString()));
  }
  return idx;
}

enum class Scatter { kAdd, kSub, kUpdate };

template <Scatter kOp>
struct ScatterOp {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      const Tensor& indices = ctx->input(1);
      const Tensor& updates = ctx->input(2);
      {
        absl::MutexLock lock(ctx->input_ref_mutex(0));
        ASSIGN_OR_RETURN(Tensor * var, RowsToUpdate(ctx, 0));
        ASSIGN_OR_RETURN(
            std::vector<int64_t> idx,
            CheckedIndices(ctx, indices, updates, *var, "updates"));
        const int64_t row =
            var->dim_size(0) == 0 ? 0 : var->NumElements() / var->dim_size(0);
        std::span<T> v = var->flat<T>();
        std::span<const T> u = updates.flat<T>();
        for (size_t k = 0; k < idx.size(); ++k) {
          T* dst = v.data() + idx[k] * row;
          const T* src = u.data() + k * row;
          for (int64_t j = 0; j < row; ++j) {
            if constexpr (kOp == Scatter::kAdd) {
              dst[j] += src[j];
            } else if constexpr (kOp == Scatter::kSub) {
              dst[j] -= src[j];
            } else {
              dst[j] = src[j];
            }
          }
        }
      }
      if (!IsResourceOp(*this)) ctx->forward_ref_input_to_ref_output(0, 0);
      return absl::OkStatus();
    }
    bool IsExpensive() const override { return false; }
  };
};

enum class Sparse { kAdagrad, kMomentum };

template <Sparse kOpt>
struct SparseApplyOp {
  template <typename T>
  class Op : public OpKernel {
   public:
    explicit Op(OpKernelConstruction* c) : OpKernel(c) {
      status_ = kOpt == Sparse::kAdagrad ? c->GetAttr("update_slots", &flag_)
                                         : c->GetAttr("use_nesterov", &flag_);
    }
    absl::Status Compute(OpKernelContext* ctx) const override {
      RETURN_IF_ERROR(status_);
      // var, accum, lr, grad, indices[, momentum].
      const Tensor& grad = ctx->input(3);
      const Tensor& indices = ctx->input(4);
      for (int i : {2, kOpt == Sparse::kMomentum ? 5 : 2}) {
        if (ctx->input(i).NumElements() != 1) {
          return ctx->InvalidArgument(
              absl::StrCat("input ", i, " must be a scalar, not of shape ",
                           ctx->input(i).shape().DebugString()));
        }
      }
      const T lr = ctx->input(2).flat<T>()[0];
      const T momentum =
          kOpt == Sparse::kMomentum ? ctx->input(5).flat<T>()[0] : T(0);
      absl::Mutex* mu0 = ctx->input_ref_mutex(0);
      absl::Mutex* mu1 = ctx->input_ref_mutex(1);
      if (mu0 == mu1) {
        return ctx->InvalidArgument("var and accum are the same variable");
      }
      // In address order, as the dense optimizers take them.
      absl::Mutex* first = mu0 < mu1 ? mu0 : mu1;
      absl::Mutex* second = mu0 < mu1 ? mu1 : mu0;
      absl::MutexLock l1(first);
      absl::MutexLock l2(second);
      ASSIGN_OR_RETURN(Tensor * var, RowsToUpdate(ctx, 0));
      ASSIGN_OR_RETURN(Tensor * accum, RowsToUpdate(ctx, 1));
      if (accum->shape() != var->shape()) {
        return ctx->InvalidArgument(absl::StrCat(
            "accum of shape ", accum->shape().DebugString(),
            " does not match var of shape ", var->shape().DebugString()));
      }
      ASSIGN_OR_RETURN(std::vector<int64_t> idx,
                       CheckedIndices(ctx, indices, grad, *var, "grad"));
      const int64_t row =
          var->dim_size(0) == 0 ? 0 : var->NumElements() / var->dim_size(0);
      for (size_t k = 0; k < idx.size(); ++k) {
        T* v = var->flat<T>().data() + idx[k] * row;
        T* a = accum->flat<T>().data() + idx[k] * row;
        const T* g = grad.flat<T>().data() + k * row;
        for (int64_t j = 0; j < row; ++j) {
          if constexpr (kOpt == Sparse::kAdagrad) {
            if (flag_) a[j] += g[j] * g[j];
            v[j] -= lr * g[j] / std::sqrt(a[j]);
          } else {
            a[j] = a[j] * momentum + g[j];
            v[j] -= flag_ ? g[j] * lr + a[j] * momentum * lr : lr * a[j];
          }
        }
      }
      if (!IsResourceOp(*this)) ctx->forward_ref_input_to_ref_output(0, 0);
      return absl::OkStatus();
    }
    bool IsExpensive() const override { return false; }

   private:
    absl::Status status_;
    bool flag_ = false;  // update_slots (Adagrad) or use_nesterov.
  };
};

class DisableCopyOnReadOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    if (!ctx->input_is_ref(0)) {
      return ctx->InvalidArgument("expected a resource handle");
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

template <template <typename> class K>
void RegisterBoth(const std::string& name, const char* ref_attr) {
  RegisterKernelForTypes<K, float, double, int32_t, int64_t>(
      KernelDef(name, kDeviceCpu), ref_attr);
  RegisterKernelForTypes<K, float, double, int32_t, int64_t>(
      KernelDef(absl::StrCat("Resource", name), kDeviceCpu),
      name.rfind("Scatter", 0) == 0 ? "dtype" : "T");
}

template <Sparse kOpt>
void RegisterSparse(const char* name) {
  for (const std::string& op :
       {std::string(name), absl::StrCat("Resource", name)}) {
    RegisterKernelForTypes<SparseApplyOp<kOpt>::template Op, float, double>(
        KernelDef(op, kDeviceCpu), "T");
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  RegisterBoth<ScatterOp<Scatter::kAdd>::Op>("ScatterAdd", "T");
  RegisterBoth<ScatterOp<Scatter::kSub>::Op>("ScatterSub", "T");
  RegisterBoth<ScatterOp<Scatter::kUpdate>::Op>("ScatterUpdate", "T");
  RegisterSparse<Sparse::kAdagrad>("SparseApplyAdagrad");
  RegisterSparse<Sparse::kMomentum>("SparseApplyMomentum");
  RegisterKernel<DisableCopyOnReadOp>(
      KernelDef("DisableCopyOnRead", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
