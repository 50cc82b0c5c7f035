// Reductions over any set of axes: Sum, Mean, Prod, Max, Min, All, Any;
// ArgMax/ArgMin over one axis; Cumsum, Cumprod; UnsortedSegmentSum.
#include <algorithm>
#include <limits>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

struct SumR {
  template <typename T>
  static T Init() {
    return T(0);
  }
  template <typename T>
  static T Combine(T a, T b) {
    return a + b;
  }
};
struct ProdR {
  template <typename T>
  static T Init() {
    return T(1);
  }
  template <typename T>
  static T Combine(T a, T b) {
    return a * b;
  }
};
struct MaxR {
  template <typename T>
  static T Init() {
    return std::numeric_limits<T>::has_infinity
               ? -std::numeric_limits<T>::infinity()
               : std::numeric_limits<T>::lowest();
  }
  template <typename T>
  static T Combine(T a, T b) {
    return b > a ? b : a;
  }
};
struct MinR {
  template <typename T>
  static T Init() {
    return std::numeric_limits<T>::has_infinity
               ? std::numeric_limits<T>::infinity()
               : std::numeric_limits<T>::max();
  }
  template <typename T>
  static T Combine(T a, T b) {
    return b < a ? b : a;
  }
};

struct AllR {
  template <typename T>
  static T Init() {
    return true;
  }
  template <typename T>
  static T Combine(T a, T b) {
    return a && b;
  }
};
struct AnyR {
  template <typename T>
  static T Init() {
    return false;
  }
  template <typename T>
  static T Combine(T a, T b) {
    return a || b;
  }
};

template <typename R, bool kMean>
struct Reduce {
  template <typename T>
  class Op : public OpKernel {
   public:
    explicit Op(OpKernelConstruction* c) : OpKernel(c) {
      status_ = c->GetAttr("keep_dims", &keep_dims_);
    }

    absl::Status Compute(OpKernelContext* ctx) const override {
      RETURN_IF_ERROR(status_);
      const Tensor& in = ctx->input(0);
      const int rank = in.dims();
      std::vector<bool> reduced(rank, false);
      for (int64_t a : IntValues(ctx->input(1))) {
        absl::StatusOr<int> axis = CanonicalAxis(a, rank);
        if (!axis.ok()) return ctx->InvalidArgument(axis.status().message());
        reduced[*axis] = true;
      }
      std::vector<int64_t> out_dims;
      int64_t count = 1;
      for (int d = 0; d < rank; ++d) {
        if (reduced[d]) {
          count *= in.dim_size(d);
          if (keep_dims_) out_dims.push_back(1);
        } else {
          out_dims.push_back(in.dim_size(d));
        }
      }
      ASSIGN_OR_RETURN(TensorShape out_shape, TensorShape::Create(out_dims));
      if (std::find(reduced.begin(), reduced.end(), true) == reduced.end()) {
        // Nothing reduced (a gradient summing over no broadcast axes): the
        // result is the input itself; share its buffer.
        ctx->set_output(0, in);
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output_for_overwrite(0, out_shape));
      auto src = in.flat<T>();
      auto dst = out->flat<T>();
      for (T& v : dst) v = R::template Init<T>();
      // The reduced dims: a suffix (rows summed to a value each), a prefix
      // (rows summed into one row), or anything else (the general walk).
      // The fast paths add in the same order as the walk: same bits.
      int first = rank, last = -1;
      for (int d = 0; d < rank; ++d) {
        if (reduced[d]) {
          first = std::min(first, d);
          last = d;
        }
      }
      bool contiguous = true;
      for (int d = first; d <= last; ++d) contiguous &= reduced[d];
      const T* x = src.data();
      T* y = dst.data();
      if (contiguous && last == rank - 1) {
        int64_t rows = 1, row = 1;
        for (int d = 0; d < rank; ++d)
          (d < first ? rows : row) *= in.dim_size(d);
        ParallelFor(ctx, rows, row, [&](int64_t lo, int64_t hi) {
          for (int64_t r = lo; r < hi; ++r) {
            T acc = R::template Init<T>();
            const T* p = x + r * row;
            for (int64_t j = 0; j < row; ++j) acc = R::Combine(acc, p[j]);
            y[r] = acc;
          }
        });
      } else if (contiguous && first == 0) {
        int64_t rows = 1, row = 1;
        for (int d = 0; d < rank; ++d)
          (d <= last ? rows : row) *= in.dim_size(d);
        for (int64_t r = 0; r < rows; ++r) {
          const T* p = x + r * row;
          for (int64_t j = 0; j < row; ++j) y[j] = R::Combine(y[j], p[j]);
        }
      } else {
        // The output stride of each input dimension (0 where reduced).
        absl::InlinedVector<int64_t, 8> stride(rank, 0);
        int64_t s = 1;
        for (int d = rank - 1; d >= 0; --d) {
          if (!reduced[d]) {
            stride[d] = s;
            s *= in.dim_size(d);
          }
        }
        absl::InlinedVector<int64_t, 8> idx(rank, 0);
        int64_t o = 0;
        for (size_t i = 0; i < src.size(); ++i) {
          dst[o] = R::Combine(dst[o], src[i]);
          for (int d = rank - 1; d >= 0; --d) {
            o += stride[d];
            if (++idx[d] < in.dim_size(d)) break;
            o -= stride[d] * in.dim_size(d);
            idx[d] = 0;
          }
        }
      }
      if constexpr (kMean) {
        if (count > 0) {
          for (T& v : dst) v = v / static_cast<T>(count);
        } else {
          for (T& v : dst) {
            v = std::numeric_limits<T>::has_quiet_NaN
                    ? std::numeric_limits<T>::quiet_NaN()
                    : T(0);
          }
        }
      }
      return absl::OkStatus();
    }

   private:
    absl::Status status_;
    bool keep_dims_ = false;
  };
};

template <bool kMax>
struct ArgReduce {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      const Tensor& in = ctx->input(0);
      const std::vector<int64_t> dim = IntValues(ctx->input(1));
      if (dim.size() != 1)
        return ctx->InvalidArgument("dimension must be a scalar");
      absl::StatusOr<int> axis = CanonicalAxis(dim[0], in.dims());
      if (!axis.ok() || in.dims() == 0) {
        return ctx->InvalidArgument(absl::StrCat(
            "bad dimension ", dim[0], " for input of rank ", in.dims()));
      }
      const int64_t n = in.dim_size(*axis);
      if (n == 0) return ctx->InvalidArgument("reducing an empty dimension");
      int64_t outer = 1, inner = 1;
      std::vector<int64_t> out_dims;
      for (int d = 0; d < in.dims(); ++d) {
        if (d < *axis) outer *= in.dim_size(d);
        if (d > *axis) inner *= in.dim_size(d);
        if (d != *axis) out_dims.push_back(in.dim_size(d));
      }
      ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(out_dims));
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output_for_overwrite(0, shape));
      auto src = in.flat<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t j = 0; j < inner; ++j) {
          int64_t best = 0;
          for (int64_t k = 1; k < n; ++k) {
            const T v = src[(o * n + k) * inner + j];
            const T b = src[(o * n + best) * inner + j];
            if (kMax ? v > b : v < b) best = k;
          }
          if (out->dtype() == DT_INT32) {
            out->flat<int32_t>()[o * inner + j] = static_cast<int32_t>(best);
          } else {
            out->flat<int64_t>()[o * inner + j] = best;
          }
        }
      }
      return absl::OkStatus();
    }
  };
};

// Cumsum and Cumprod along one axis; `exclusive` leaves the element itself
// out, `reverse` runs from the end.
template <bool kProd>
struct Scan {
  template <typename T>
  class Op : public OpKernel {
   public:
    explicit Op(OpKernelConstruction* c) : OpKernel(c) {
      status_.Update(c->GetAttr("exclusive", &exclusive_));
      status_.Update(c->GetAttr("reverse", &reverse_));
    }
    absl::Status Compute(OpKernelContext* ctx) const override {
      RETURN_IF_ERROR(status_);
      const Tensor& in = ctx->input(0);
      const std::vector<int64_t> a = IntValues(ctx->input(1));
      if (a.size() != 1 || ctx->input(1).dims() != 0) {
        return ctx->InvalidArgument("axis must be a scalar");
      }
      absl::StatusOr<int> axis = CanonicalAxis(a[0], in.dims());
      if (!axis.ok() || in.dims() == 0) {
        return ctx->InvalidArgument(
            absl::StrCat("bad axis ", a[0], " for input of rank ", in.dims()));
      }
      int64_t outer = 1, inner = 1;
      for (int d = 0; d < in.dims(); ++d) {
        if (d < *axis) outer *= in.dim_size(d);
        if (d > *axis) inner *= in.dim_size(d);
      }
      const int64_t n = in.dim_size(*axis);
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output_for_overwrite(0, in.shape()));
      const T* x = in.flat<T>().data();
      T* y = out->flat<T>().data();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t j = 0; j < inner; ++j) {
          T acc = T(kProd ? 1 : 0);
          for (int64_t step = 0; step < n; ++step) {
            const int64_t k = reverse_ ? n - 1 - step : step;
            const int64_t at = (o * n + k) * inner + j;
            if (exclusive_) y[at] = acc;
            acc = kProd ? acc * x[at] : acc + x[at];
            if (!exclusive_) y[at] = acc;
          }
        }
      }
      return absl::OkStatus();
    }

   private:
    absl::Status status_;
    bool exclusive_ = false, reverse_ = false;
  };
};

// UnsortedSegmentSum: output[ids[i...], rest...] += data[i..., rest...].
// Negative ids drop their rows, as in TensorFlow; ids >= num_segments are
// an error naming the id.
template <typename T>
class UnsortedSegmentSumOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& data = ctx->input(0);
    const Tensor& ids_t = ctx->input(1);
    const std::vector<int64_t> num = IntValues(ctx->input(2));
    if (num.size() != 1 || ctx->input(2).dims() != 0 || num[0] < 0) {
      return ctx->InvalidArgument("num_segments must be a non-negative scalar");
    }
    if (ids_t.dims() > data.dims()) {
      return ctx->InvalidArgument(
          absl::StrCat("segment_ids has rank ", ids_t.dims(),
                       ", more than data's ", data.dims()));
    }
    std::vector<int64_t> out_dims = {num[0]};
    for (int d = 0; d < data.dims(); ++d) {
      if (d < ids_t.dims()) {
        if (ids_t.dim_size(d) != data.dim_size(d)) {
          return ctx->InvalidArgument(absl::StrCat(
              "segment_ids shape ", ids_t.shape().DebugString(),
              " is not a prefix of data shape ", data.shape().DebugString()));
        }
      } else {
        out_dims.push_back(data.dim_size(d));
      }
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(out_dims));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    const std::vector<int64_t> ids = IntValues(ids_t);
    const int64_t row = ids.empty() ? 0 : data.NumElements() / ids.size();
    const T* x = data.flat<T>().data();
    T* y = out->flat<T>().data();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0) continue;
      if (ids[i] >= num[0]) {
        return ctx->InvalidArgument(
            absl::StrCat("segment id ", ids[i], " at position ", i,
                         " is out of range [0, ", num[0], ")"));
      }
      T* to = y + ids[i] * row;
      const T* from = x + i * row;
      for (int64_t k = 0; k < row; ++k) to[k] += from[k];
    }
    return absl::OkStatus();
  }
};

template <typename R, bool kMean = false>
void Register(const char* op) {
  RegisterKernelForTypes<Reduce<R, kMean>::template Op, float, double, int32_t,
                         int64_t>(KernelDef(op, kDeviceCpu), "T");
}

[[maybe_unused]] const bool kRegistered = [] {
  Register<SumR>("Sum");
  Register<SumR, true>("Mean");
  Register<ProdR>("Prod");
  Register<MaxR>("Max");
  Register<MinR>("Min");
  RegisterKernel<Reduce<AllR, false>::Op<bool>>(KernelDef("All", kDeviceCpu));
  RegisterKernel<Reduce<AnyR, false>::Op<bool>>(KernelDef("Any", kDeviceCpu));
  RegisterKernelForTypes<Scan<false>::Op, float, double, int32_t, int64_t>(
      KernelDef("Cumsum", kDeviceCpu), "T");
  RegisterKernelForTypes<Scan<true>::Op, float, double, int32_t, int64_t>(
      KernelDef("Cumprod", kDeviceCpu), "T");
  RegisterKernelForTypes<UnsortedSegmentSumOp, float, double, int32_t, int64_t>(
      KernelDef("UnsortedSegmentSum", kDeviceCpu), "T");
  RegisterKernelForTypes<ArgReduce<true>::Op, float, double, int32_t, int64_t>(
      KernelDef("ArgMax", kDeviceCpu)
          .TypeConstraint("output_type", {DT_INT32, DT_INT64}),
      "T");
  RegisterKernelForTypes<ArgReduce<false>::Op, float, double, int32_t, int64_t>(
      KernelDef("ArgMin", kDeviceCpu)
          .TypeConstraint("output_type", {DT_INT32, DT_INT64}),
      "T");
  return true;
}();

}  // namespace
}  // namespace rill
