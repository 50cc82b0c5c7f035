// Sparse tensors (indices, values, dense shape): SparseTensorDenseMatMul,
// SparseToDense, SparseFillEmptyRows (and its gradient), SparseReshape.
// Every index is checked against the dense shape and named in the error.
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

// The [n, rank] int64 indices of input `i`, checked against dense_shape
// (all of them when `every_dim`, else only the first dimension).
absl::StatusOr<std::vector<int64_t>> SparseIndices(
    OpKernelContext* ctx, int i, const std::vector<int64_t>& dense_shape,
    bool every_dim) {
  const Tensor& t = ctx->input(i);
  if (t.dims() != 2 ||
      t.dim_size(1) != static_cast<int64_t>(dense_shape.size())) {
    return ctx->InvalidArgument(absl::StrCat(
        "indices must be a matrix of one column per dense dimension (",
        dense_shape.size(), "), got shape ", t.shape().DebugString()));
  }
  std::vector<int64_t> idx = IntValues(t);
  const size_t rank = dense_shape.size();
  for (size_t k = 0; k < idx.size(); ++k) {
    const size_t d = k % rank;
    if ((d == 0 || every_dim) && (idx[k] < 0 || idx[k] >= dense_shape[d])) {
      return ctx->InvalidArgument(
          absl::StrCat("index [",
                       absl::StrJoin(idx.begin() + (k - d),
                                     idx.begin() + (k - d) + rank, ","),
                       "] of entry ", k / rank, " is outside the dense shape [",
                       absl::StrJoin(dense_shape, ","), "]"));
    }
  }
  return idx;
}

class SparseFillEmptyRowsOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& values = ctx->input(1);
    const Tensor& default_value = ctx->input(3);
    const std::vector<int64_t> dense_shape = IntValues(ctx->input(2));
    if (ctx->input(2).dims() != 1 || dense_shape.empty()) {
      return ctx->InvalidArgument("dense_shape must be a non-empty vector");
    }
    if (default_value.NumElements() != 1) {
      return ctx->InvalidArgument(
          absl::StrCat("default_value must be a scalar, got shape ",
                       default_value.shape().DebugString()));
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> idx,
                     SparseIndices(ctx, 0, dense_shape, false));
    const int64_t rank = static_cast<int64_t>(dense_shape.size());
    const int64_t n = static_cast<int64_t>(idx.size()) / rank;
    if (values.dims() != 1 || values.dim_size(0) != n) {
      return ctx->InvalidArgument(
          absl::StrCat("values must be a vector of one value per index (", n,
                       "), got shape ", values.shape().DebugString()));
    }
    const int64_t rows = dense_shape[0];
    // Per row: how many entries; the output puts rows in order, each
    // row's entries in their input order, an empty row's default in its
    // place.
    std::vector<int64_t> start(rows + 1, 0);
    for (int64_t e = 0; e < n; ++e) ++start[idx[e * rank] + 1];
    std::vector<int64_t> at(rows);
    int64_t total = 0;
    for (int64_t r = 0; r < rows; ++r) {
      at[r] = total;
      total += std::max<int64_t>(start[r + 1], 1);
    }
    ASSIGN_OR_RETURN(Tensor * out_idx,
                     ctx->allocate_output(0, TensorShape({total, rank})));
    ASSIGN_OR_RETURN(Tensor * out_values,
                     ctx->allocate_output(1, TensorShape({total})));
    ASSIGN_OR_RETURN(Tensor * indicator,
                     ctx->allocate_output(2, TensorShape({rows})));
    ASSIGN_OR_RETURN(Tensor * reverse,
                     ctx->allocate_output(3, TensorShape({n})));
    auto oi = out_idx->flat<int64_t>();
    // Where each entry goes, and which places are empty rows' defaults.
    std::vector<int64_t> from(total, -1);
    std::vector<int64_t> next = at;
    for (int64_t e = 0; e < n; ++e) {
      const int64_t pos = next[idx[e * rank]]++;
      std::copy(idx.begin() + e * rank, idx.begin() + (e + 1) * rank,
                oi.begin() + pos * rank);
      from[pos] = e;
      reverse->flat<int64_t>()[e] = pos;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const bool is_empty = start[r + 1] == 0;
      indicator->flat<bool>()[r] = is_empty;
      if (is_empty) oi[at[r] * rank] = r;  // The rest of the index stays 0.
    }
    const bool copied = VisitDataType(
        values.dtype(),
        [&]<typename T>() {
          auto in = values.flat<T>();
          auto out = out_values->flat<T>();
          const T fill = default_value.flat<T>()[0];
          for (int64_t k = 0; k < total; ++k) {
            out[k] = from[k] >= 0 ? in[from[k]] : fill;
          }
          return true;
        },
        [] { return false; });
    if (!copied) {
      return ctx->InvalidArgument(absl::StrCat(
          "values of ", DataTypeName(values.dtype()), " cannot be filled"));
    }
    return absl::OkStatus();
  }
};

template <typename T>
class SparseFillEmptyRowsGradOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& map = ctx->input(0);
    const Tensor& grad = ctx->input(1);
    if (map.dims() != 1 || grad.dims() != 1) {
      return ctx->InvalidArgument(
          "reverse_index_map and grad_values must be vectors");
    }
    const int64_t m = grad.dim_size(0);
    auto g = grad.flat<T>();
    ASSIGN_OR_RETURN(Tensor * d_values, ctx->allocate_output(0, map.shape()));
    ASSIGN_OR_RETURN(Tensor * d_default,
                     ctx->allocate_output(1, TensorShape({})));
    std::vector<bool> taken(m, false);
    for (int64_t e = 0; e < map.dim_size(0); ++e) {
      const int64_t pos = map.flat<int64_t>()[e];
      if (pos < 0 || pos >= m) {
        return ctx->InvalidArgument(absl::StrCat(
            "reverse_index_map[", e, "] = ", pos, " is outside [0, ", m, ")"));
      }
      d_values->flat<T>()[e] = g[pos];
      taken[pos] = true;
    }
    T sum = T(0);
    for (int64_t k = 0; k < m; ++k) {
      if (!taken[k]) sum += g[k];
    }
    d_default->scalar<T>() = sum;
    return absl::OkStatus();
  }
};

class SparseReshapeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const std::vector<int64_t> in_shape = IntValues(ctx->input(1));
    std::vector<int64_t> out_shape = IntValues(ctx->input(2));
    if (ctx->input(1).dims() != 1 || ctx->input(2).dims() != 1) {
      return ctx->InvalidArgument("input_shape and new_shape must be vectors");
    }
    int64_t total = 1;
    for (int64_t d : in_shape) {
      if (d < 0) return ctx->InvalidArgument("input_shape has a negative size");
      total *= d;
    }
    int unknown = -1;
    int64_t known = 1;
    for (size_t d = 0; d < out_shape.size(); ++d) {
      if (out_shape[d] == -1) {
        if (unknown >= 0) {
          return ctx->InvalidArgument(
              "new_shape may have at most one -1 dimension");
        }
        unknown = static_cast<int>(d);
      } else if (out_shape[d] < 0) {
        return ctx->InvalidArgument(
            absl::StrCat("new_shape has a negative size ", out_shape[d]));
      } else {
        known *= out_shape[d];
      }
    }
    if (unknown >= 0) {
      if (known == 0 || total % known != 0) {
        return ctx->InvalidArgument(absl::StrCat(
            "a shape of ", total, " elements cannot be reshaped to [",
            absl::StrJoin(out_shape, ","), "]"));
      }
      out_shape[unknown] = total / known;
      known = total;
    }
    if (known != total) {
      return ctx->InvalidArgument(absl::StrCat(
          "a shape of ", total, " elements [", absl::StrJoin(in_shape, ","),
          "] cannot be reshaped to [", absl::StrJoin(out_shape, ","), "]"));
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> idx,
                     SparseIndices(ctx, 0, in_shape, true));
    const int64_t in_rank = static_cast<int64_t>(in_shape.size());
    const int64_t out_rank = static_cast<int64_t>(out_shape.size());
    const int64_t n =
        in_rank == 0 ? 0 : static_cast<int64_t>(idx.size()) / in_rank;
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output(0, TensorShape({n, out_rank})));
    auto o = out->flat<int64_t>();
    for (int64_t e = 0; e < n; ++e) {
      int64_t linear = 0;
      for (int64_t d = 0; d < in_rank; ++d) {
        linear = linear * in_shape[d] + idx[e * in_rank + d];
      }
      for (int64_t d = out_rank - 1; d >= 0; --d) {
        o[e * out_rank + d] = linear % out_shape[d];
        linear /= out_shape[d];
      }
    }
    ctx->set_output(1, Tensor::FromVector<int64_t>(out_shape));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<SparseFillEmptyRowsOp>(
      KernelDef("SparseFillEmptyRows", kDeviceCpu));
  RegisterKernelForTypes<SparseFillEmptyRowsGradOp, float, double>(
      KernelDef("SparseFillEmptyRowsGrad", kDeviceCpu), "T");
  RegisterKernel<SparseReshapeOp>(KernelDef("SparseReshape", kDeviceCpu));
  RegisterKernelForTypes<SparseDenseMatMulOp, float, double, int32_t, int64_t>(
      KernelDef("SparseTensorDenseMatMul", kDeviceCpu), "T");
  RegisterKernelForTypes<SparseToDenseOp, float, double, int32_t, int64_t,
                         bool>(KernelDef("SparseToDense", kDeviceCpu), "T");
  return true;
}();

}  // namespace
}  // namespace rill
