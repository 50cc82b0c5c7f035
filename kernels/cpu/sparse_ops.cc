// Sparse tensors (indices, values, dense shape) met by dense math:
// SparseTensorDenseMatMul and SparseToDense. Every index is checked against
// the dense shape and named in the error.
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

// product = op(A) op(B), A sparse [m, k] (adjoint_a: A is [k, m]), B dense.
template <typename T>
class SparseDenseMatMulOp : public OpKernel {
 public:
  explicit SparseDenseMatMulOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("adjoint_a", &adjoint_a_);
    status_.Update(c->GetAttr("adjoint_b", &adjoint_b_));
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& indices_t = ctx->input(0);
    const Tensor& values = ctx->input(1);
    const std::vector<int64_t> shape = IntValues(ctx->input(2));
    const Tensor& b = ctx->input(3);
    if (indices_t.dims() != 2 || indices_t.dim_size(1) != 2 ||
        values.dims() != 1 || values.dim_size(0) != indices_t.dim_size(0) ||
        shape.size() != 2 || b.dims() != 2) {
      return ctx->InvalidArgument(absl::StrCat(
          "expected a_indices [nnz, 2], a_values [nnz], a_shape [2] and a "
          "matrix b; got ",
          indices_t.shape().DebugString(), ", ", values.shape().DebugString(),
          ", ", ctx->input(2).shape().DebugString(), " and ",
          b.shape().DebugString()));
    }
    const int64_t m = shape[adjoint_a_ ? 1 : 0], k = shape[adjoint_a_ ? 0 : 1];
    const int64_t bk = b.dim_size(adjoint_b_ ? 1 : 0);
    const int64_t n = b.dim_size(adjoint_b_ ? 0 : 1);
    if (k != bk) {
      return ctx->InvalidArgument(absl::StrCat(
          "cannot multiply A of shape [", shape[0], ",", shape[1], "]",
          adjoint_a_ ? " (adjoint)" : "", " by b of shape ",
          b.shape().DebugString(), adjoint_b_ ? " (adjoint)" : ""));
    }
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output(0, TensorShape({m, n})));
    const std::vector<int64_t> idx = IntValues(indices_t);
    const T* v = values.flat<T>().data();
    const T* bv = b.flat<T>().data();
    T* o = out->flat<T>().data();
    const int64_t b_cols = b.dim_size(1);
    for (int64_t i = 0; i < values.dim_size(0); ++i) {
      int64_t r = idx[2 * i], c = idx[2 * i + 1];
      if (r < 0 || r >= shape[0] || c < 0 || c >= shape[1]) {
        return ctx->InvalidArgument(absl::StrCat(
            "a_indices[", i, "] = [", r, ", ", c, "] is out of bounds of [",
            shape[0], ", ", shape[1], "]"));
      }
      if (adjoint_a_) std::swap(r, c);
      for (int64_t j = 0; j < n; ++j) {
        o[r * n + j] +=
            v[i] * (adjoint_b_ ? bv[j * b_cols + c] : bv[c * b_cols + j]);
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  bool adjoint_a_ = false, adjoint_b_ = false;
};

// dense = default_value everywhere but at sparse_indices (a scalar or
// vector for a 1-D result, else [n, rank]), where sparse_values (one per
// index, or one for all) are.
template <typename T>
class SparseToDenseOp : public OpKernel {
 public:
  explicit SparseToDenseOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("validate_indices", &validate_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& indices_t = ctx->input(0);
    const std::vector<int64_t> dims = IntValues(ctx->input(1));
    const Tensor& values = ctx->input(2);
    const Tensor& fill = ctx->input(3);
    if (ctx->input(1).dims() != 1 || indices_t.dims() > 2 ||
        fill.NumElements() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "expected output_shape a vector, sparse_indices of rank 0 to 2 and "
          "a scalar default_value; got ",
          ctx->input(1).shape().DebugString(), ", ",
          indices_t.shape().DebugString(), " and ",
          fill.shape().DebugString()));
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    const int64_t rank = indices_t.dims() == 2 ? indices_t.dim_size(1) : 1;
    const int64_t n = indices_t.dims() == 0 ? 1 : indices_t.dim_size(0);
    if (rank != shape.dims()) {
      return ctx->InvalidArgument(absl::StrCat("sparse_indices address ", rank,
                                               " dimensions of output_shape ",
                                               shape.DebugString()));
    }
    if (values.NumElements() != 1 && values.NumElements() != n) {
      return ctx->InvalidArgument(absl::StrCat("sparse_values has ",
                                               values.NumElements(),
                                               " values for ", n, " indices"));
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    T* o = out->flat<T>().data();
    std::fill(o, o + out->NumElements(), fill.flat<T>()[0]);
    const std::vector<int64_t> idx = IntValues(indices_t);
    int64_t previous = -1;
    for (int64_t i = 0; i < n; ++i) {
      int64_t at = 0;
      for (int64_t d = 0; d < rank; ++d) {
        const int64_t v = idx[i * rank + d];
        if (v < 0 || v >= shape.dim_size(d)) {
          std::vector<int64_t> index(idx.begin() + i * rank,
                                     idx.begin() + (i + 1) * rank);
          return ctx->InvalidArgument(absl::StrCat(
              "sparse_indices[", i, "] = [", absl::StrJoin(index, ", "),
              "] is out of bounds of ", shape.DebugString()));
        }
        at = at * shape.dim_size(d) + v;
      }
      if (validate_ && at <= previous) {
        return ctx->InvalidArgument(
            absl::StrCat("sparse_indices[", i, "] is ",
                         at == previous ? "repeated" : "out of order",
                         " (validate_indices)"));
      }
      previous = at;
      o[at] = values.flat<T>()[values.NumElements() == 1 ? 0 : i];
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  bool validate_ = true;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<SparseDenseMatMulOp, float, double, int32_t, int64_t>(
      KernelDef("SparseTensorDenseMatMul", kDeviceCpu), "T");
  RegisterKernelForTypes<SparseToDenseOp, float, double, int32_t, int64_t,
                         bool>(KernelDef("SparseToDense", kDeviceCpu), "T");
  return true;
}();

}  // namespace
}  // namespace rill
