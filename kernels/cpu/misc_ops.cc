// AddN, Select/SelectV2, Range, OneHot, Bucketize, BroadcastArgs,
// BroadcastGradientArgs, InvertPermutation, LeakyRelu, Elu.
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

template <typename T>
class AddNOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const TensorShape shape = ctx->input(0).shape();
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      if (ctx->input(i).shape() != shape) {
        return ctx->InvalidArgument(absl::StrCat(
            "input ", i, " has shape ", ctx->input(i).shape().DebugString(),
            ", input 0 has ", shape.DebugString()));
      }
    }
    std::vector<absl::Span<const T>> in;
    for (int i = 0; i < ctx->num_inputs(); ++i)
      in.push_back(ctx->input(i).flat<T>());
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->forward_input_or_allocate_output(0, 0, shape));
    auto o = out->flat<T>();
    for (size_t j = 0; j < o.size(); ++j) {
      T sum = in[0][j];
      for (size_t i = 1; i < in.size(); ++i) sum += in[i][j];
      o[j] = sum;
    }
    return absl::OkStatus();
  }
};

// SelectV2 broadcasts all three inputs; Select takes a condition of t's
// shape or a vector along t's first dimension.
template <typename T>
class SelectOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& c = ctx->input(0);
    const Tensor& t = ctx->input(1);
    const Tensor& e = ctx->input(2);
    auto cv = c.flat<bool>();
    auto tv = t.flat<T>();
    auto ev = e.flat<T>();
    if (type_string() == "Select") {
      if (t.shape() != e.shape())
        return ctx->InvalidArgument("t and e must have the same shape");
      const bool rowwise = c.dims() == 1 && t.dims() > 1;
      if (!(c.shape() == t.shape() ||
            (rowwise && c.dim_size(0) == t.dim_size(0)))) {
        return ctx->InvalidArgument(
            absl::StrCat("condition of shape ", c.shape().DebugString(),
                         " does not fit ", t.shape().DebugString()));
      }
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output_for_overwrite(0, t.shape()));
      auto o = out->flat<T>();
      const int64_t row =
          rowwise && t.dim_size(0) > 0 ? t.NumElements() / t.dim_size(0) : 1;
      for (size_t i = 0; i < o.size(); ++i) {
        o[i] = cv[rowwise ? i / row : i] ? tv[i] : ev[i];
      }
      return absl::OkStatus();
    }
    absl::StatusOr<PartialTensorShape> te = BroadcastShapes(
        PartialTensorShape(t.shape()), PartialTensorShape(e.shape()));
    absl::StatusOr<PartialTensorShape> all =
        te.ok() ? BroadcastShapes(PartialTensorShape(c.shape()), *te) : te;
    if (!all.ok()) return ctx->InvalidArgument(all.status().message());
    ASSIGN_OR_RETURN(TensorShape shape, all->AsTensorShape());
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    auto o = out->flat<T>();
    const int rank = shape.dims();
    auto index = [&](const TensorShape& s, const std::vector<int64_t>& idx) {
      int64_t off = 0;
      for (int d = 0; d < s.dims(); ++d) {
        const int od = rank - s.dims() + d;
        off = off * s.dim_size(d) + (s.dim_size(d) == 1 ? 0 : idx[od]);
      }
      return off;
    };
    std::vector<int64_t> idx(rank, 0);
    for (size_t i = 0; i < o.size(); ++i) {
      o[i] = cv[index(c.shape(), idx)] ? tv[index(t.shape(), idx)]
                                       : ev[index(e.shape(), idx)];
      for (int d = rank - 1; d >= 0 && ++idx[d] == shape.dim_size(d); --d)
        idx[d] = 0;
    }
    return absl::OkStatus();
  }
};

// The row-major coordinates of the nonzero elements: [count, rank] int64.
template <typename T>
class WhereOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    auto v = in.flat<T>();
    int64_t count = 0;
    for (size_t i = 0; i < v.size(); ++i) count += v[i] != T(0);
    const int rank = in.dims();
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output_for_overwrite(
                                       0, TensorShape({count, rank})));
    auto o = out->flat<int64_t>();
    int64_t row = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == T(0)) continue;
      int64_t rest = static_cast<int64_t>(i);
      for (int d = rank - 1; d >= 0; --d) {
        o[row * rank + d] = rest % in.dim_size(d);
        rest /= in.dim_size(d);
      }
      ++row;
    }
    return absl::OkStatus();
  }
};

template <typename T>
class RangeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const T start = ctx->input(0).flat<T>()[0];
    const T limit = ctx->input(1).flat<T>()[0];
    const T delta = ctx->input(2).flat<T>()[0];
    if (delta == T(0)) return ctx->InvalidArgument("delta must not be 0");
    if ((delta > 0 && start > limit) || (delta < 0 && start < limit)) {
      return ctx->InvalidArgument(
          "start and limit are in the wrong order for delta");
    }
    const double span =
        std::abs(static_cast<double>(limit) - static_cast<double>(start));
    const int64_t n = static_cast<int64_t>(
        std::ceil(span / std::abs(static_cast<double>(delta))));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, TensorShape({n})));
    auto o = out->flat<T>();
    T v = start;
    for (int64_t i = 0; i < n; ++i, v += delta) o[i] = v;
    return absl::OkStatus();
  }
};

template <typename T>
class OneHotOp : public OpKernel {
 public:
  explicit OneHotOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("axis", &axis_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& indices = ctx->input(0);
    const int64_t depth = ctx->input(1).flat<int32_t>()[0];
    if (depth < 0) return ctx->InvalidArgument("depth must be >= 0");
    const T on = ctx->input(2).flat<T>()[0];
    const T off = ctx->input(3).flat<T>()[0];
    const int rank = indices.dims();
    if (axis_ < -1 || axis_ > rank)
      return ctx->InvalidArgument("axis out of range");
    const int axis = axis_ == -1 ? rank : static_cast<int>(axis_);
    std::vector<int64_t> dims(indices.shape().dim_sizes().begin(),
                              indices.shape().dim_sizes().end());
    dims.insert(dims.begin() + axis, depth);
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < rank; ++d)
      (d < axis ? outer : inner) *= indices.dim_size(d);
    auto o = out->flat<T>();
    for (T& v : o) v = off;
    for (int64_t a = 0; a < outer; ++a) {
      for (int64_t b = 0; b < inner; ++b) {
        int64_t ix;
        switch (indices.dtype()) {
          case DT_INT32:
            ix = indices.flat<int32_t>()[a * inner + b];
            break;
          case DT_INT64:
            ix = indices.flat<int64_t>()[a * inner + b];
            break;
          case DT_UINT8:
            ix = indices.flat<uint8_t>()[a * inner + b];
            break;
          default:
            ix = indices.flat<int8_t>()[a * inner + b];
            break;
        }
        if (ix >= 0 && ix < depth) o[(a * depth + ix) * inner + b] = on;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  int64_t axis_ = -1;
};

// Bucketize: the number of boundaries (sorted) at or below each element.
template <typename T>
class BucketizeOp : public OpKernel {
 public:
  explicit BucketizeOp(OpKernelConstruction* c) : OpKernel(c) {
    // (A list(float) attr: read from the AttrValue itself.)
    const AttrMap& attrs = c->node().attrs();
    auto it = attrs.find("boundaries");
    if (it == attrs.end() || !it->second.has_list()) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "node '", name(), "': boundaries must be a list of floats"));
      return;
    }
    boundaries_.assign(it->second.list().f().begin(),
                       it->second.list().f().end());
    if (!std::is_sorted(boundaries_.begin(), boundaries_.end())) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("node '", name(), "': boundaries must be sorted"));
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, in.shape()));
    auto x = in.flat<T>();
    auto y = out->flat<int32_t>();
    for (size_t i = 0; i < x.size(); ++i) {
      y[i] = static_cast<int32_t>(std::upper_bound(boundaries_.begin(),
                                                   boundaries_.end(),
                                                   static_cast<double>(x[i])) -
                                  boundaries_.begin());
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::vector<float> boundaries_;
};

// The dimensions of two shapes side by side, the shorter padded with
// leading 1s; INVALID_ARGUMENT where they do not broadcast.
template <typename T>
absl::StatusOr<std::vector<std::pair<T, T>>> BroadcastPairs(
    OpKernelContext* ctx) {
  auto s0 = ctx->input(0).flat<T>();
  auto s1 = ctx->input(1).flat<T>();
  const int rank = static_cast<int>(std::max(s0.size(), s1.size()));
  std::vector<std::pair<T, T>> pairs(rank);
  for (int i = 0; i < rank; ++i) {
    const int i0 = i - (rank - static_cast<int>(s0.size()));
    const int i1 = i - (rank - static_cast<int>(s1.size()));
    const T d0 = i0 >= 0 ? s0[i0] : T(1);
    const T d1 = i1 >= 0 ? s1[i1] : T(1);
    if (d0 != d1 && d0 != 1 && d1 != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "incompatible shapes at dimension ", i, ": ", d0, " and ", d1));
    }
    pairs[i] = {d0, d1};
  }
  return pairs;
}

// The reduction axes for the gradients of a broadcast binary op.
template <typename T>
class BroadcastGradientArgsOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    auto s0 = ctx->input(0).flat<T>();
    auto s1 = ctx->input(1).flat<T>();
    ASSIGN_OR_RETURN(auto pairs, BroadcastPairs<T>(ctx));
    std::vector<T> r0, r1;
    // Identical shapes need no reduction; otherwise every dimension where
    // an input (padded with leading 1s) is 1 is reduced for that input.
    const bool same = std::equal(s0.begin(), s0.end(), s1.begin(), s1.end());
    for (size_t i = 0; i < pairs.size() && !same; ++i) {
      if (pairs[i].first == 1) r0.push_back(static_cast<T>(i));
      if (pairs[i].second == 1) r1.push_back(static_cast<T>(i));
    }
    ctx->set_output(0, Tensor::FromVector<T>(r0));
    ctx->set_output(1, Tensor::FromVector<T>(r1));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// BroadcastArgs: the shape both broadcast to (numpy's rules).
template <typename T>
class BroadcastArgsOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    for (int i = 0; i < 2; ++i) {
      if (ctx->input(i).dims() != 1) {
        return ctx->InvalidArgument(
            absl::StrCat("s", i, " must be a vector, got shape ",
                         ctx->input(i).shape().DebugString()));
      }
    }
    ASSIGN_OR_RETURN(auto pairs, BroadcastPairs<T>(ctx));
    std::vector<T> r;
    for (const auto& [d0, d1] : pairs) r.push_back(d0 == 1 ? d1 : d0);
    ctx->set_output(0, Tensor::FromVector<T>(r));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

template <typename T>
class InvertPermutationOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    auto in = ctx->input(0).flat<T>();
    const int64_t n = in.size();
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output_for_overwrite(
                                       0, ctx->input(0).shape()));
    auto o = out->flat<T>();
    std::vector<bool> seen(n, false);
    for (int64_t i = 0; i < n; ++i) {
      const T p = in[i];
      if (p < 0 || p >= n || seen[p]) {
        return ctx->InvalidArgument(
            absl::StrCat(p, " is a duplicate or out of range"));
      }
      seen[p] = true;
      o[p] = static_cast<T>(i);
    }
    return absl::OkStatus();
  }
};

template <typename T>
class EluFamilyOp : public OpKernel {
 public:
  explicit EluFamilyOp(OpKernelConstruction* c) : OpKernel(c) {
    if (type_string() == "LeakyRelu") status_ = c->GetAttr("alpha", &alpha_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const auto x = ctx->input(0).flat<T>();
    const TensorShape shape = ctx->input(0).shape();
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->forward_input_or_allocate_output(0, 0, shape));
    auto y = out->flat<T>();
    const bool leaky = type_string() == "LeakyRelu";
    for (size_t i = 0; i < y.size(); ++i) {
      const T v = x[i];
      y[i] =
          v > T(0) ? v : (leaky ? static_cast<T>(alpha_) * v : std::expm1(v));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  float alpha_ = 0.2f;
};

// L2Loss: sum(t^2) / 2, accumulated in double.
template <typename T>
class L2LossOp : public OpKernel {
 public:
  explicit L2LossOp(OpKernelConstruction* c) : OpKernel(c) {}
  absl::Status Compute(OpKernelContext* ctx) const override {
    const auto t = ctx->input(0).flat<T>();
    double sum = 0;
    for (const T v : t) sum += static_cast<double>(v) * static_cast<double>(v);
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, TensorShape()));
    out->scalar<T>() = static_cast<T>(sum / 2);
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<L2LossOp, float, double>(
      KernelDef("L2Loss", kDeviceCpu), "T");
  RegisterKernelForTypes<AddNOp, float, double, int32_t, int64_t>(
      KernelDef("AddN", kDeviceCpu), "T");
  for (const char* op : {"Select", "SelectV2"}) {
    RegisterKernelForTypes<SelectOp, float, double, int32_t, int64_t, bool,
                           std::string>(KernelDef(op, kDeviceCpu), "T");
  }
  RegisterKernelForTypes<WhereOp, float, double, int32_t, int64_t, bool>(
      KernelDef("Where", kDeviceCpu), "T");
  RegisterKernelForTypes<RangeOp, float, double, int32_t, int64_t>(
      KernelDef("Range", kDeviceCpu), "Tidx");
  RegisterKernelForTypes<OneHotOp, float, double, int32_t, int64_t, bool>(
      KernelDef("OneHot", kDeviceCpu), "T");
  RegisterKernelForTypes<BucketizeOp, int32_t, int64_t, float, double>(
      KernelDef("Bucketize", kDeviceCpu), "T");
  RegisterKernelForTypes<BroadcastArgsOp, int32_t, int64_t>(
      KernelDef("BroadcastArgs", kDeviceCpu), "T");
  RegisterKernelForTypes<BroadcastGradientArgsOp, int32_t, int64_t>(
      KernelDef("BroadcastGradientArgs", kDeviceCpu), "T");
  RegisterKernelForTypes<InvertPermutationOp, int32_t, int64_t>(
      KernelDef("InvertPermutation", kDeviceCpu), "T");
  for (const char* op : {"LeakyRelu", "Elu"}) {
    RegisterKernelForTypes<EluFamilyOp, float, double>(
        KernelDef(op, kDeviceCpu), "T");
  }
  return true;
}();

}  // namespace
}  // namespace rill
