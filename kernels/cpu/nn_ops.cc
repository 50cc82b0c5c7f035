// Neural-network kernels: BiasAdd and its gradient, fused batch
// normalization and its gradient, Relu family, softmax, and the softmax
// cross-entropy losses.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// Channel layout of a BiasAdd-like op: value viewed as [outer, channels,
// inner] (inner is 1 for NHWC).
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

absl::StatusOr<ChannelLayout> Layout(const OpKernelContext* ctx,
                                     const TensorShape& shape,
                                     const std::string& format) {
  if (shape.dims() < 2) {
    return ctx->InvalidArgument(
        absl::StrCat("input must be at least 2-D, got ", shape.DebugString()));
  }
  const int ch = format == "NCHW" ? 1 : shape.dims() - 1;
  ChannelLayout l;
  for (int d = 0; d < shape.dims(); ++d) {
    if (d < ch) l.outer *= shape.dim_size(d);
    if (d > ch) l.inner *= shape.dim_size(d);
  }
  l.channels = shape.dim_size(ch);
  return l;
}

template <typename T>
class BiasAddOp : public OpKernel {
 public:
  explicit BiasAddOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("data_format", &format_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& value = ctx->input(0);
    const Tensor& bias = ctx->input(1);
    const TensorShape shape = value.shape();
    ASSIGN_OR_RETURN(ChannelLayout l, Layout(ctx, shape, format_));
    if (bias.dims() != 1 || bias.dim_size(0) != l.channels) {
      return ctx->InvalidArgument(absl::StrCat(
          "bias of shape ", bias.shape().DebugString(), " does not match the ",
          l.channels, " channels of ", shape.DebugString()));
    }
    const auto in = value.flat<T>();  // Valid even if the buffer is reused.
    const auto b = bias.flat<T>();
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->forward_input_or_allocate_output(0, 0, shape));
    auto o = out->flat<T>();
    ParallelFor(ctx, l.outer, l.channels * l.inner,
                [&](int64_t lo, int64_t hi) {
                  for (int64_t i = lo; i < hi; ++i) {
                    for (int64_t c = 0; c < l.channels; ++c) {
                      const int64_t base = (i * l.channels + c) * l.inner;
                      for (int64_t j = 0; j < l.inner; ++j)
                        o[base + j] = in[base + j] + b[c];
                    }
                  }
                });
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::string format_;
};

template <typename T>
class BiasAddGradOp : public OpKernel {
 public:
  explicit BiasAddGradOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("data_format", &format_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& g = ctx->input(0);
    ASSIGN_OR_RETURN(ChannelLayout l, Layout(ctx, g.shape(), format_));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output(0, TensorShape({l.channels})));
    auto in = g.flat<T>();
    auto o = out->flat<T>();
    for (int64_t i = 0; i < l.outer; ++i) {
      for (int64_t c = 0; c < l.channels; ++c) {
        const int64_t base = (i * l.channels + c) * l.inner;
        for (int64_t j = 0; j < l.inner; ++j) o[c] += in[base + j];
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::string format_;
};

// FusedBatchNormV3's layout: x viewed as [outer, channels, inner], with the
// channel dimension given by data_format (NHWC/NDHWC: last; NCHW/NCDHW:
// second).
absl::StatusOr<ChannelLayout> BatchNormLayout(const OpKernelContext* ctx,
                                              const TensorShape& shape,
                                              const std::string& format) {
  const int rank = static_cast<int>(format.size());
  if (shape.dims() != rank) {
    return ctx->InvalidArgument(absl::StrCat(
        "x must be ", rank, "-D for ", format, ", got ", shape.DebugString()));
  }
  return Layout(ctx, shape, format[1] == 'C' ? "NCHW" : "NHWC");
}

// Checks that `t` has one value per channel (or, where `may_be_empty`,
// none).
absl::Status PerChannel(const OpKernelContext* ctx, const Tensor& t,
                        const char* what, int64_t channels,
                        bool may_be_empty = false) {
  if (t.dims() == 1 &&
      (t.dim_size(0) == channels || (may_be_empty && t.dim_size(0) == 0))) {
    return absl::OkStatus();
  }
  return ctx->InvalidArgument(absl::StrCat(what, " must have shape [", channels,
                                           "] (one per channel), got ",
                                           t.shape().DebugString()));
}

// Sums f(c, value index) over each channel's elements.
template <typename F>
std::vector<double> ChannelSums(const ChannelLayout& l, F f) {
  std::vector<double> sum(l.channels, 0.0);
  for (int64_t i = 0; i < l.outer; ++i) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const int64_t base = (i * l.channels + c) * l.inner;
      double acc = 0;
      for (int64_t j = 0; j < l.inner; ++j) acc += f(c, base + j);
      sum[c] += acc;
    }
  }
  return sum;
}

// Batch normalization: in training, by the batch's own mean and (biased)
// variance per channel, with the running statistics' update in
// batch_mean/batch_variance (the unbiased variance, mixed with the inputs
// by exponential_avg_factor); in inference, by the given mean and variance.
// reserve_space_1/2 keep what the gradient needs: the mean and variance
// used.
class FusedBatchNormOp : public OpKernel {
 public:
  explicit FusedBatchNormOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("data_format", &format_);
    if (status_.ok()) status_ = c->GetAttr("epsilon", &epsilon_);
    if (status_.ok()) status_ = c->GetAttr("is_training", &training_);
    if (status_.ok()) {
      status_ = c->GetAttr("exponential_avg_factor", &factor_);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& x = ctx->input(0);
    ASSIGN_OR_RETURN(ChannelLayout l, BatchNormLayout(ctx, x.shape(), format_));
    const int64_t ch = l.channels;
    RETURN_IF_ERROR(PerChannel(ctx, ctx->input(1), "scale", ch));
    RETURN_IF_ERROR(PerChannel(ctx, ctx->input(2), "offset", ch));
    // Training with no running average to mix in may leave them empty.
    const bool may_be_empty = training_ && factor_ == 1.0f;
    RETURN_IF_ERROR(PerChannel(ctx, ctx->input(3), "mean", ch, may_be_empty));
    RETURN_IF_ERROR(
        PerChannel(ctx, ctx->input(4), "variance", ch, may_be_empty));
    const auto in = x.flat<float>();
    const auto scale = ctx->input(1).flat<float>();
    const auto offset = ctx->input(2).flat<float>();
    const auto mean_in = ctx->input(3).flat<float>();
    const auto var_in = ctx->input(4).flat<float>();
    const int64_t n = l.outer * l.inner;

    std::vector<double> mean(ch), var(ch);
    if (training_) {
      mean = ChannelSums(l, [&](int64_t, int64_t k) { return in[k]; });
      for (auto& m : mean) m /= std::max<int64_t>(n, 1);
      var = ChannelSums(l, [&](int64_t c, int64_t k) {
        const double d = in[k] - mean[c];
        return d * d;
      });
      for (auto& v : var) v /= std::max<int64_t>(n, 1);
    } else {
      for (int64_t c = 0; c < ch; ++c) {
        mean[c] = mean_in[c];
        var[c] = var_in[c];
      }
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx->allocate_output(0, x.shape()));
    auto out = y->flat<float>();
    std::vector<double> mul(ch), add(ch);
    for (int64_t c = 0; c < ch; ++c) {
      mul[c] = scale[c] / std::sqrt(var[c] + epsilon_);
      add[c] = offset[c] - mean[c] * mul[c];
    }
    ParallelFor(ctx, l.outer, ch * l.inner, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        for (int64_t c = 0; c < ch; ++c) {
          const int64_t base = (i * ch + c) * l.inner;
          for (int64_t j = 0; j < l.inner; ++j) {
            out[base + j] = static_cast<float>(in[base + j] * mul[c] + add[c]);
          }
        }
      }
    });

    const TensorShape per_channel({ch});
    Tensor* stats[4];
    for (int i = 0; i < 4; ++i) {
      ASSIGN_OR_RETURN(stats[i], ctx->allocate_output(i + 1, per_channel));
    }
    const double bessel = n > 1 ? static_cast<double>(n) / (n - 1) : 1.0;
    for (int64_t c = 0; c < ch; ++c) {
      double running_mean = mean[c], running_var = var[c];
      if (training_) {
        running_var *= bessel;
        if (factor_ != 1.0f) {
          running_mean = (1 - factor_) * mean_in[c] + factor_ * running_mean;
          running_var = (1 - factor_) * var_in[c] + factor_ * running_var;
        }
      }
      stats[0]->flat<float>()[c] = static_cast<float>(running_mean);
      stats[1]->flat<float>()[c] = static_cast<float>(running_var);
      stats[2]->flat<float>()[c] = static_cast<float>(mean[c]);
      stats[3]->flat<float>()[c] = static_cast<float>(var[c]);
    }
    // TensorFlow's CPU kernel keeps nothing here: a scalar zero.
    return ctx->allocate_output(5, TensorShape()).status();
  }

 private:
  absl::Status status_;
  std::string format_;
  float epsilon_ = 0;
  float factor_ = 1;
  bool training_ = true;
};

// FusedBatchNormV3's gradient. In training the mean and variance depend on
// x: dx = scale / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat));
// in inference they are constants: dx = dy * scale / sqrt(var + eps).
class FusedBatchNormGradOp : public OpKernel {
 public:
  explicit FusedBatchNormGradOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("data_format", &format_);
    if (status_.ok()) status_ = c->GetAttr("epsilon", &epsilon_);
    if (status_.ok()) status_ = c->GetAttr("is_training", &training_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& dy_t = ctx->input(0);
    const Tensor& x_t = ctx->input(1);
    if (dy_t.shape() != x_t.shape()) {
      return ctx->InvalidArgument(
          absl::StrCat("y_backprop's shape ", dy_t.shape().DebugString(),
                       " differs from x's ", x_t.shape().DebugString()));
    }
    ASSIGN_OR_RETURN(ChannelLayout l,
                     BatchNormLayout(ctx, x_t.shape(), format_));
    const int64_t ch = l.channels;
    RETURN_IF_ERROR(PerChannel(ctx, ctx->input(2), "scale", ch));
    RETURN_IF_ERROR(PerChannel(ctx, ctx->input(3), "reserve_space_1", ch));
    RETURN_IF_ERROR(PerChannel(ctx, ctx->input(4), "reserve_space_2", ch));
    const auto dy = dy_t.flat<float>();
    const auto x = x_t.flat<float>();
    const auto scale = ctx->input(2).flat<float>();
    const auto mean = ctx->input(3).flat<float>();
    const auto var = ctx->input(4).flat<float>();
    const int64_t n = std::max<int64_t>(l.outer * l.inner, 1);
    std::vector<double> inv(ch);
    for (int64_t c = 0; c < ch; ++c) {
      inv[c] = 1.0 / std::sqrt(static_cast<double>(var[c]) + epsilon_);
    }
    auto xhat = [&](int64_t c, int64_t k) { return (x[k] - mean[c]) * inv[c]; };
    const std::vector<double> sum_dy =
        ChannelSums(l, [&](int64_t, int64_t k) { return dy[k]; });
    const std::vector<double> sum_dy_xhat = ChannelSums(
        l, [&](int64_t c, int64_t k) { return dy[k] * xhat(c, k); });

    ASSIGN_OR_RETURN(Tensor * dx_t, ctx->allocate_output(0, x_t.shape()));
    auto dx = dx_t->flat<float>();
    ParallelFor(ctx, l.outer, ch * l.inner, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        for (int64_t c = 0; c < ch; ++c) {
          const double k = scale[c] * inv[c];
          const int64_t base = (i * ch + c) * l.inner;
          for (int64_t j = base; j < base + l.inner; ++j) {
            const double g = training_ ? dy[j] - sum_dy[c] / n -
                                             xhat(c, j) * sum_dy_xhat[c] / n
                                       : dy[j];
            dx[j] = static_cast<float>(k * g);
          }
        }
      }
    });
    ASSIGN_OR_RETURN(Tensor * dscale,
                     ctx->allocate_output(1, TensorShape({ch})));
    ASSIGN_OR_RETURN(Tensor * doffset,
                     ctx->allocate_output(2, TensorShape({ch})));
    for (int64_t c = 0; c < ch; ++c) {
      dscale->flat<float>()[c] = static_cast<float>(sum_dy_xhat[c]);
      doffset->flat<float>()[c] = static_cast<float>(sum_dy[c]);
    }
    RETURN_IF_ERROR(ctx->allocate_output(3, TensorShape({0})).status());
    return ctx->allocate_output(4, TensorShape({0})).status();
  }

 private:
  absl::Status status_;
  std::string format_;
  float epsilon_ = 0;
  bool training_ = true;
};

template <typename T>
class ReluOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const auto x = ctx->input(0).flat<T>();
    const TensorShape shape = ctx->input(0).shape();
    const bool six = type_string() == "Relu6";
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->forward_input_or_allocate_output(0, 0, shape));
    auto y = out->flat<T>();
    ParallelFor(ctx, y.size(), 2, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T v = x[i] > T(0) ? x[i] : T(0);
        y[i] = six && v > T(6) ? T(6) : v;
      }
    });
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

template <typename T>
class ReluGradOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& g = ctx->input(0);
    const Tensor& f = ctx->input(1);
    if (g.shape() != f.shape()) {
      return ctx->InvalidArgument(
          absl::StrCat("gradients ", g.shape().DebugString(), " and features ",
                       f.shape().DebugString(), " must have the same shape"));
    }
    const auto gv = g.flat<T>();
    const auto fv = f.flat<T>();
    const bool six = type_string() == "Relu6Grad";
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->forward_input_or_allocate_output(0, 0, g.shape()));
    T* o = out->flat<T>().data();
    const T* gp = gv.data();
    const T* fp = fv.data();
    const int64_t n = out->NumElements();
    // Branch-free, one loop per op, so both vectorize (the signs are random:
    // a branch per element would mispredict half the time).
    // Both loads are unconditional, so the select needs no branch.
    if (six) {
      for (int64_t i = 0; i < n; ++i) {
        const T f = fp[i], g = gp[i];
        o[i] = ((f > T(0)) & (f < T(6))) ? g : T(0);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const T f = fp[i], g = gp[i];
        o[i] = f > T(0) ? g : T(0);
      }
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// Softmax and LogSoftmax along the last dimension.
template <typename T>
class SoftmaxOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& logits = ctx->input(0);
    if (logits.dims() < 1)
      return ctx->InvalidArgument("logits must be at least 1-D");
    const int64_t c = logits.dim_size(logits.dims() - 1);
    const int64_t rows = c == 0 ? 0 : logits.NumElements() / c;
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, logits.shape()));
    auto in = logits.flat<T>();
    auto o = out->flat<T>();
    const bool log = type_string() == "LogSoftmax";
    ParallelFor(ctx, rows, 4 * c, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* x = &in[r * c];
        T* y = &o[r * c];
        T m = x[0];
        for (int64_t j = 1; j < c; ++j) m = std::max(m, x[j]);
        T sum = 0;
        for (int64_t j = 0; j < c; ++j) sum += std::exp(x[j] - m);
        const T log_sum = std::log(sum);
        for (int64_t j = 0; j < c; ++j) {
          y[j] = log ? x[j] - m - log_sum : std::exp(x[j] - m) / sum;
        }
      }
    });
    return absl::OkStatus();
  }
};

// loss[b] = -sum_j labels[b,j] * log softmax(logits)[b,j];
// backprop = softmax(logits) - labels. Sparse: labels are class indices.
template <typename T, bool kSparse>
class XentOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& logits = ctx->input(0);
    const Tensor& labels = ctx->input(1);
    if (logits.dims() != 2) {
      return ctx->InvalidArgument(absl::StrCat("logits must be 2-D, got ",
                                               logits.shape().DebugString()));
    }
    const int64_t b = logits.dim_size(0), c = logits.dim_size(1);
    if (kSparse ? (labels.dims() != 1 || labels.dim_size(0) != b)
                : labels.shape() != logits.shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "labels of shape ", labels.shape().DebugString(),
          " do not fit logits of shape ", logits.shape().DebugString()));
    }
    ASSIGN_OR_RETURN(Tensor * loss,
                     ctx->allocate_output_for_overwrite(0, TensorShape({b})));
    ASSIGN_OR_RETURN(Tensor * back,
                     ctx->allocate_output_for_overwrite(1, logits.shape()));
    auto x = logits.flat<T>();
    auto l = loss->flat<T>();
    auto g = back->flat<T>();
    for (int64_t r = 0; r < b; ++r) {
      int64_t label = -1;
      if constexpr (kSparse) {
        label = labels.dtype() == DT_INT32 ? labels.flat<int32_t>()[r]
                                           : labels.flat<int64_t>()[r];
        if (label < 0 || label >= c) {
          return ctx->InvalidArgument(absl::StrCat(
              "received a label value of ", label,
              " which is outside the valid range of [0, ", c, ")"));
        }
      }
      const T* xr = x.data() + r * c;
      // No classes (dense labels): a loss of 0 and nothing to read.
      T m = c > 0 ? xr[0] : T(0);
      for (int64_t j = 1; j < c; ++j) m = std::max(m, xr[j]);
      T sum = 0;
      for (int64_t j = 0; j < c; ++j) sum += std::exp(xr[j] - m);
      const T log_sum = std::log(sum);
      T total = 0;
      for (int64_t j = 0; j < c; ++j) {
        const T p = kSparse ? T(j == label) : labels.flat<T>()[r * c + j];
        const T log_softmax = xr[j] - m - log_sum;
        if (p != T(0)) total -= p * log_softmax;
        g[r * c + j] = std::exp(log_softmax) - p;
      }
      l[r] = total;
    }
    return absl::OkStatus();
  }
};

template <typename T>
using SparseXent = XentOp<T, true>;
template <typename T>
using DenseXent = XentOp<T, false>;

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<BiasAddOp, float, double>(
      KernelDef("BiasAdd", kDeviceCpu), "T");
  RegisterKernelForTypes<BiasAddGradOp, float, double>(
      KernelDef("BiasAddGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<ReluOp, float, double, int32_t, int64_t>(
      KernelDef("Relu", kDeviceCpu), "T");
  RegisterKernelForTypes<ReluOp, float, double, int32_t, int64_t>(
      KernelDef("Relu6", kDeviceCpu), "T");
  RegisterKernelForTypes<ReluGradOp, float, double>(
      KernelDef("ReluGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<ReluGradOp, float, double>(
      KernelDef("Relu6Grad", kDeviceCpu), "T");
  RegisterKernelForTypes<SoftmaxOp, float, double>(
      KernelDef("Softmax", kDeviceCpu), "T");
  RegisterKernelForTypes<SoftmaxOp, float, double>(
      KernelDef("LogSoftmax", kDeviceCpu), "T");
  RegisterKernelForTypes<SparseXent, float, double>(
      KernelDef("SparseSoftmaxCrossEntropyWithLogits", kDeviceCpu), "T");
  RegisterKernelForTypes<DenseXent, float, double>(
      KernelDef("SoftmaxCrossEntropyWithLogits", kDeviceCpu), "T");
  RegisterKernel<FusedBatchNormOp>(KernelDef("FusedBatchNormV3", kDeviceCpu)
                                       .TypeConstraint("T", {DT_FLOAT})
                                       .TypeConstraint("U", {DT_FLOAT}));
  RegisterKernel<FusedBatchNormGradOp>(
      KernelDef("FusedBatchNormGradV3", kDeviceCpu)
          .TypeConstraint("T", {DT_FLOAT})
          .TypeConstraint("U", {DT_FLOAT}));
  return true;
}();

}  // namespace
}  // namespace rill
