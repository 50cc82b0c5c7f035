// Kernels that address elements by computed indices: GatherNd, ScatterNd,
// TopKV2, InTopKV2, the sparse segment reductions and their gradients,
// and the segment reductions (SegmentSum/Mean/Max/Min on
// sorted ids, UnsortedSegmentMax/Min/Prod).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/byte_kernels.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

// The number of index tuples in an [..., r] index tensor.
int64_t NumTuples(const Tensor& indices) {
  int64_t n = 1;
  for (int d = 0; d + 1 < indices.dims(); ++d) n *= indices.dim_size(d);
  return n;
}

// The rows that an [..., r] index tensor addresses in `shape` (its first r
// dimensions): row numbers in [0, prod(shape[:r])), each index checked.
absl::StatusOr<std::vector<int64_t>> IndexedRows(const OpKernelContext* ctx,
                                                 const Tensor& indices,
                                                 const TensorShape& shape) {
  if (indices.dims() < 1) {
    return ctx->InvalidArgument(absl::StrCat(
        "indices must be at least 1-D, got ", indices.shape().DebugString()));
  }
  const int64_t r = indices.dim_size(indices.dims() - 1);
  if (r > shape.dims()) {
    return ctx->InvalidArgument(
        absl::StrCat("indices address ", r, " dimensions of shape ",
                     shape.DebugString(), ", which has ", shape.dims()));
  }
  const std::vector<int64_t> idx = IntValues(indices);
  const int64_t n = NumTuples(indices);
  std::vector<int64_t> rows(n, 0);  // With r = 0, each names the whole.
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = 0;
    for (int64_t d = 0; d < r; ++d) {
      const int64_t v = idx[i * r + d];
      if (v < 0 || v >= shape.dim_size(d)) {
        std::vector<int64_t> at(idx.begin() + i * r, idx.begin() + (i + 1) * r);
        return ctx->InvalidArgument(
            absl::StrCat("indices[", i, "] = [", absl::StrJoin(at, ", "),
                         "] is not an index of shape ", shape.DebugString()));
      }
      row = row * shape.dim_size(d) + v;
    }
    rows[i] = row;
  }
  return rows;
}

// GatherNd: output[i...] = params[indices[i..., :], ...].
class GatherNdOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& params = ctx->input(0);
    const Tensor& indices = ctx->input(1);
    ASSIGN_OR_RETURN(std::vector<int64_t> rows,
                     IndexedRows(ctx, indices, params.shape()));
    const int64_t r = indices.dim_size(indices.dims() - 1);
    std::vector<int64_t> dims;
    for (int d = 0; d + 1 < indices.dims(); ++d) {
      dims.push_back(indices.dim_size(d));
    }
    int64_t slice = 1;
    for (int d = static_cast<int>(r); d < params.dims(); ++d) {
      dims.push_back(params.dim_size(d));
      slice *= params.dim_size(d);
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    if (params.dtype() == DT_STRING) {  // Strings are objects, not bytes.
      auto from = params.flat<std::string>();
      auto to = out->flat<std::string>();
      for (size_t i = 0; i < rows.size(); ++i) {
        std::copy(from.begin() + rows[i] * slice,
                  from.begin() + (rows[i] + 1) * slice, to.begin() + i * slice);
      }
      return absl::OkStatus();
    }
    const size_t bytes = slice * DataTypeSize(params.dtype());
    for (size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(Bytes(out) + i * bytes, Bytes(params) + rows[i] * bytes,
                  bytes);
    }
    return absl::OkStatus();
  }
};

// ScatterNd: zeros of `shape` with updates[i..., ...] added at
// indices[i..., :] (duplicates add up).
template <typename T>
class ScatterNdOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& indices = ctx->input(0);
    const Tensor& updates = ctx->input(1);
    const std::vector<int64_t> dims = IntValues(ctx->input(2));
    if (ctx->input(2).dims() != 1) {
      return ctx->InvalidArgument("shape must be a vector");
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(std::vector<int64_t> rows,
                     IndexedRows(ctx, indices, shape));
    const int64_t r = indices.dim_size(indices.dims() - 1);
    std::vector<int64_t> want;
    for (int d = 0; d + 1 < indices.dims(); ++d) {
      want.push_back(indices.dim_size(d));
    }
    int64_t slice = 1;
    for (int d = static_cast<int>(r); d < shape.dims(); ++d) {
      want.push_back(shape.dim_size(d));
      slice *= shape.dim_size(d);
    }
    ASSIGN_OR_RETURN(TensorShape want_shape, TensorShape::Create(want));
    if (updates.shape() != want_shape) {
      return ctx->InvalidArgument(absl::StrCat(
          "updates has shape ", updates.shape().DebugString(), "; indices ",
          indices.shape().DebugString(), " into shape ", shape.DebugString(),
          " need ", want_shape.DebugString()));
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    const T* u = updates.flat<T>().data();
    T* o = out->flat<T>().data();
    for (size_t i = 0; i < rows.size(); ++i) {
      for (int64_t j = 0; j < slice; ++j)
        o[rows[i] * slice + j] += u[i * slice + j];
    }
    return absl::OkStatus();
  }
};

// InTopKV2: whether each row's target is among its k largest predictions;
// classes tied with the target all count as in. A target out of range, or
// a row with a non-finite prediction, is never in (TensorFlow's rule).
template <typename T>
class InTopKOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& predictions = ctx->input(0);
    const Tensor& targets = ctx->input(1);
    const std::vector<int64_t> kv = IntValues(ctx->input(2));
    if (predictions.dims() != 2) {
      return ctx->InvalidArgument(
          absl::StrCat("predictions must be 2-D, got shape ",
                       predictions.shape().DebugString()));
    }
    if (targets.dims() != 1 || targets.dim_size(0) != predictions.dim_size(0)) {
      return ctx->InvalidArgument(absl::StrCat(
          "targets must be a vector of one class per row of predictions (",
          predictions.dim_size(0), "), got shape ",
          targets.shape().DebugString()));
    }
    if (ctx->input(2).dims() != 0 || kv.size() != 1) {
      return ctx->InvalidArgument("k must be a scalar");
    }
    const int64_t k = kv[0];
    const int64_t rows = predictions.dim_size(0);
    const int64_t classes = predictions.dim_size(1);
    const float* p = predictions.flat<float>().data();
    auto target = targets.flat<T>();
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, targets.shape()));
    auto o = out->flat<bool>();
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = p + r * classes;
      const int64_t t = target[r];
      bool known = t >= 0 && t < classes && std::isfinite(row[t]);
      int64_t above = 0;
      for (int64_t c = 0; known && c < classes; ++c) {
        if (!std::isfinite(row[c])) {
          known = false;
        } else if (row[c] > row[t]) {
          ++above;
        }
      }
      o[r] = known && above < k;
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// TopKV2: the k largest of each innermost row in descending order (equal
// values by position), with their positions.
template <typename T>
class TopKOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    const std::vector<int64_t> kv = IntValues(ctx->input(1));
    if (ctx->input(1).dims() != 0 || kv.size() != 1 || kv[0] < 0) {
      return ctx->InvalidArgument("k must be a non-negative scalar");
    }
    if (in.dims() < 1) {
      return ctx->InvalidArgument("input must be at least 1-D");
    }
    const int64_t k = kv[0];
    const int64_t n = in.dim_size(in.dims() - 1);
    if (k > n) {
      return ctx->InvalidArgument(
          absl::StrCat("input must have at least k = ", k,
                       " columns, got shape ", in.shape().DebugString()));
    }
    std::vector<int64_t> dims(in.shape().dim_sizes().begin(),
                              in.shape().dim_sizes().end());
    dims.back() = k;
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * values, ctx->allocate_output(0, shape));
    ASSIGN_OR_RETURN(Tensor * indices, ctx->allocate_output(1, shape));
    const T* x = in.flat<T>().data();
    const int64_t rows = n == 0 ? 0 : in.NumElements() / n;
    std::vector<int64_t> order(n);
    for (int64_t row = 0; row < rows; ++row) {
      const T* v = x + row * n;
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [v](int64_t a, int64_t b) {
                          return v[a] > v[b] || (v[a] == v[b] && a < b);
                        });
      for (int64_t j = 0; j < k; ++j) {
        values->flat<T>()[row * k + j] = v[order[j]];
        if (indices->dtype() == DT_INT64) {
          indices->flat<int64_t>()[row * k + j] = order[j];
        } else if (indices->dtype() == DT_INT16) {
          indices->flat<int16_t>()[row * k + j] =
              static_cast<int16_t>(order[j]);
        } else {
          indices->flat<int32_t>()[row * k + j] =
              static_cast<int32_t>(order[j]);
        }
      }
    }
    return absl::OkStatus();
  }
};

enum class Segment { kSum, kMean, kMax, kMin, kProd };

// Segment reductions: data [ids..., rest...] into [segments, rest...].
// Sorted forms (kSorted): ids are 1-D, non-decreasing and >= 0, the number
// of segments is the last id + 1, and an empty segment is 0. Unsorted
// forms: num_segments is an input, negative ids drop their rows, and an
// empty segment holds the type's lowest (max) or highest (min) value.
template <Segment kKind, bool kSorted>
struct SegmentReduction {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      const Tensor& data = ctx->input(0);
      const Tensor& ids_t = ctx->input(1);
      const std::vector<int64_t> ids = IntValues(ids_t);
      int64_t segments = 0;
      if constexpr (kSorted) {
        if (ids_t.dims() != 1 || data.dims() < 1 ||
            ids_t.dim_size(0) != data.dim_size(0)) {
          return ctx->InvalidArgument(absl::StrCat(
              "segment_ids must be a vector as long as data's first "
              "dimension; got ",
              ids_t.shape().DebugString(), " for data ",
              data.shape().DebugString()));
        }
        for (size_t i = 0; i < ids.size(); ++i) {
          if (ids[i] < 0 || (i > 0 && ids[i] < ids[i - 1])) {
            return ctx->InvalidArgument(absl::StrCat(
                "segment ids must be non-negative and sorted; segment_ids[", i,
                "] = ", ids[i],
                i > 0 ? absl::StrCat(" after ", ids[i - 1]) : ""));
          }
        }
        segments = ids.empty() ? 0 : ids.back() + 1;
      } else {
        const std::vector<int64_t> num = IntValues(ctx->input(2));
        if (num.size() != 1 || ctx->input(2).dims() != 0 || num[0] < 0) {
          return ctx->InvalidArgument(
              "num_segments must be a non-negative scalar");
        }
        segments = num[0];
        bool prefix = ids_t.dims() <= data.dims();
        for (int d = 0; prefix && d < ids_t.dims(); ++d) {
          prefix = ids_t.dim_size(d) == data.dim_size(d);
        }
        if (!prefix) {
          return ctx->InvalidArgument(absl::StrCat(
              "segment_ids shape ", ids_t.shape().DebugString(),
              " is not a prefix of data shape ", data.shape().DebugString()));
        }
      }
      std::vector<int64_t> dims = {segments};
      for (int d = kSorted ? 1 : ids_t.dims(); d < data.dims(); ++d) {
        dims.push_back(data.dim_size(d));
      }
      ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
      ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
      const int64_t row = ids.empty() ? 0 : data.NumElements() / ids.size();
      T* y = out->flat<T>().data();
      const T* x = data.flat<T>().data();
      const T init = kKind == Segment::kMax   ? std::numeric_limits<T>::lowest()
                     : kKind == Segment::kMin ? std::numeric_limits<T>::max()
                     : kKind == Segment::kProd ? T(1)
                                               : T(0);
      std::fill(y, y + out->NumElements(), init);
      std::vector<int64_t> count(segments, 0);
      for (size_t i = 0; i < ids.size(); ++i) {
        const int64_t s = ids[i];
        if (s < 0) continue;
        if (s >= segments) {
          return ctx->InvalidArgument(
              absl::StrCat("segment id ", s, " at position ", i,
                           " is out of range [0, ", segments, ")"));
        }
        ++count[s];
        for (int64_t j = 0; j < row; ++j) {
          T& acc = y[s * row + j];
          const T v = x[i * row + j];
          if constexpr (kKind == Segment::kMax) {
            acc = v > acc ? v : acc;
          } else if constexpr (kKind == Segment::kMin) {
            acc = v < acc ? v : acc;
          } else if constexpr (kKind == Segment::kProd) {
            acc *= v;
          } else {
            acc += v;
          }
        }
      }
      for (int64_t s = 0; s < segments; ++s) {
        for (int64_t j = 0; j < row; ++j) {
          if (kSorted && count[s] == 0) {
            y[s * row + j] = T(0);
          } else if (kKind == Segment::kMean && count[s] > 0) {
            y[s * row + j] /= static_cast<T>(count[s]);
          }
        }
      }
      return absl::OkStatus();
    }
  };
};

template <Segment kKind, bool kSorted>
void RegisterSegment(const char* op) {
  RegisterKernelForTypes<SegmentReduction<kKind, kSorted>::template Op, float,
                         double, int32_t, int64_t>(KernelDef(op, kDeviceCpu),
                                                   "T");
}

// SparseSegmentSum/Mean/SqrtN and their gradients. The forward ops sum
// data rows `indices` into the sorted segments of segment_ids (mean:
// divided by the segment's count; sqrt_n: by its square root; an empty
// segment is 0). The gradients send each segment's gradient row back to
// those data rows, with the same weight, into [output_dim0, ...].
enum class SparseSegment { kSum, kMean, kSqrtN };

template <SparseSegment kKind, bool kGrad, bool kV2 = false>
struct SparseSegmentReduction {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      const Tensor& data = ctx->input(0);
      const Tensor& indices_t = ctx->input(1);
      const Tensor& ids_t = ctx->input(2);
      if (data.dims() < 1) {
        return ctx->InvalidArgument(absl::StrCat(
            kGrad ? "grad" : "data", " must have at least one dimension"));
      }
      if (indices_t.dims() != 1 || ids_t.dims() != 1 ||
          indices_t.dim_size(0) != ids_t.dim_size(0)) {
        return ctx->InvalidArgument(absl::StrCat(
            "indices and segment_ids must be vectors of one length, got ",
            indices_t.shape().DebugString(), " and ",
            ids_t.shape().DebugString()));
      }
      const std::vector<int64_t> indices = IntValues(indices_t);
      const std::vector<int64_t> ids = IntValues(ids_t);
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || (i > 0 && ids[i] < ids[i - 1])) {
          return ctx->InvalidArgument(absl::StrCat(
              "segment_ids must be sorted and non-negative; entry ", i, " is ",
              ids[i]));
        }
      }
      const int64_t segments = ids.empty() ? 0 : ids.back() + 1;
      std::vector<int64_t> counts(segments, 0);
      for (int64_t id : ids) ++counts[id];
      int64_t out_rows = segments;
      const int64_t in_rows = data.dim_size(0);
      if (kGrad) {
        ASSIGN_OR_RETURN(out_rows, IntScalarInput(ctx, 3, "output_dim0"));
        if (out_rows < 0) {
          return ctx->InvalidArgument(
              absl::StrCat("output_dim0 must be >= 0, got ", out_rows));
        }
        if (segments > in_rows) {
          return ctx->InvalidArgument(
              absl::StrCat("segment id ", segments - 1,
                           " is out of range for grad of ", in_rows, " rows"));
        }
      }
      const int64_t index_limit = kGrad ? out_rows : in_rows;
      for (size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] < 0 || indices[i] >= index_limit) {
          return ctx->InvalidArgument(
              absl::StrCat("index ", indices[i], " at position ", i,
                           " is out of range [0, ", index_limit, ")"));
        }
      }
      // V2 gradients: only the rows of the sorted unique indices, row k
      // for unique[k].
      std::vector<int64_t> row_of = indices;
      if (kV2) {
        std::vector<int64_t> unique = indices;
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        for (int64_t& r : row_of) {
          r = std::lower_bound(unique.begin(), unique.end(), r) -
              unique.begin();
        }
        out_rows = static_cast<int64_t>(unique.size());
        ASSIGN_OR_RETURN(Tensor * sorted,
                         ctx->allocate_output(1, TensorShape({out_rows})));
        for (int64_t k = 0; k < out_rows; ++k) {
          if (ctx->input(1).dtype() == DT_INT32) {
            sorted->flat<int32_t>()[k] = static_cast<int32_t>(unique[k]);
          } else {
            sorted->flat<int64_t>()[k] = unique[k];
          }
        }
      }
      std::vector<int64_t> dims = {out_rows};
      for (int d = 1; d < data.dims(); ++d) dims.push_back(data.dim_size(d));
      ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
      ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));  // 0s.
      const int64_t row = in_rows == 0 ? 0 : data.NumElements() / in_rows;
      const T* x = data.flat<T>().data();
      T* y = out->flat<T>().data();
      for (size_t i = 0; i < ids.size(); ++i) {
        T weight = T(1);
        if (kKind == SparseSegment::kMean) {
          weight = T(1) / static_cast<T>(counts[ids[i]]);
        } else if (kKind == SparseSegment::kSqrtN) {
          weight = T(1) / static_cast<T>(std::sqrt(counts[ids[i]]));
        }
        const T* from = x + (kGrad ? ids[i] : indices[i]) * row;
        T* to = y + (kGrad ? row_of[i] : ids[i]) * row;
        for (int64_t k = 0; k < row; ++k) to[k] += from[k] * weight;
      }
      return absl::OkStatus();
    }
  };
};

template <SparseSegment kKind, bool kGrad, bool kV2 = false>
void RegisterSparseSegment(const char* op) {
  using R = SparseSegmentReduction<kKind, kGrad, kV2>;
  if constexpr (kKind == SparseSegment::kSum && !kGrad) {
    RegisterKernelForTypes<R::template Op, float, double, int32_t, int64_t>(
        KernelDef(op, kDeviceCpu), "T");
  } else {
    RegisterKernelForTypes<R::template Op, float, double>(
        KernelDef(op, kDeviceCpu), "T");
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  RegisterSparseSegment<SparseSegment::kSum, false>("SparseSegmentSum");
  RegisterSparseSegment<SparseSegment::kMean, false>("SparseSegmentMean");
  RegisterSparseSegment<SparseSegment::kSqrtN, false>("SparseSegmentSqrtN");
  RegisterSparseSegment<SparseSegment::kSum, true>("SparseSegmentSumGrad");
  RegisterSparseSegment<SparseSegment::kMean, true>("SparseSegmentMeanGrad");
  RegisterSparseSegment<SparseSegment::kSqrtN, true>("SparseSegmentSqrtNGrad");
  RegisterSparseSegment<SparseSegment::kSum, true, true>(
      "SparseSegmentSumGradV2");
  RegisterSparseSegment<SparseSegment::kMean, true, true>(
      "SparseSegmentMeanGradV2");
  RegisterSparseSegment<SparseSegment::kSqrtN, true, true>(
      "SparseSegmentSqrtNGradV2");
  RegisterByteKernel<GatherNdOp>("GatherNd", "Tparams");
  RegisterKernel<GatherNdOp>(
      KernelDef("GatherNd", kDeviceCpu).TypeConstraint("Tparams", {DT_STRING}));
  RegisterKernelForTypes<ScatterNdOp, float, double, int32_t, int64_t>(
      KernelDef("ScatterNd", kDeviceCpu), "T");
  RegisterKernelForTypes<TopKOp, float, double, int32_t, int64_t>(
      KernelDef("TopKV2", kDeviceCpu), "T");
  RegisterKernelForTypes<InTopKOp, int32_t, int64_t>(
      KernelDef("InTopKV2", kDeviceCpu), "T");
  RegisterSegment<Segment::kSum, true>("SegmentSum");
  RegisterSegment<Segment::kMean, true>("SegmentMean");
  RegisterSegment<Segment::kMax, true>("SegmentMax");
  RegisterSegment<Segment::kMin, true>("SegmentMin");
  RegisterSegment<Segment::kMax, false>("UnsortedSegmentMax");
  RegisterSegment<Segment::kMin, false>("UnsortedSegmentMin");
  RegisterSegment<Segment::kProd, false>("UnsortedSegmentProd");
  return true;
}();

}  // namespace
}  // namespace rill
