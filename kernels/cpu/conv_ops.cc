// Conv2D (im2col + Eigen GEMM), MaxPool and AvgPool on NHWC tensors, with
// TensorFlow's SAME/VALID(/EXPLICIT) padding arithmetic. NCHW and dilations
// other than 1 are not supported on the CPU (TensorFlow's CPU kernels lack
// NCHW too) and say so.
#include <eigen3/Eigen/Core>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

struct Window {
  int64_t out = 0;
  int64_t pad_before = 0;
};

absl::StatusOr<Window> ComputeWindow(int64_t in, int64_t k, int64_t stride,
                                     const std::string& padding,
                                     int64_t explicit_before,
                                     int64_t explicit_after) {
  if (k <= 0 || stride <= 0) {
    return absl::InvalidArgumentError(
        "window sizes and strides must be positive");
  }
  Window w;
  if (padding == "SAME") {
    w.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((w.out - 1) * stride + k - in, 0);
    w.pad_before = total / 2;
  } else if (padding == "VALID") {
    if (in < k) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window of size ", k, " is larger than the input of size ", in));
    }
    w.out = (in - k) / stride + 1;
  } else {
    const int64_t padded = in + explicit_before + explicit_after;
    if (padded < k)
      return absl::InvalidArgumentError("window larger than padded input");
    w.out = (padded - k) / stride + 1;
    w.pad_before = explicit_before;
  }
  return w;
}

template <typename T>
using RowMajor =
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
class Conv2DOp : public OpKernel {
 public:
  explicit Conv2DOp(OpKernelConstruction* c) : OpKernel(c) {
    status_.Update(c->GetAttr("strides", &strides_));
    status_.Update(c->GetAttr("padding", &padding_));
    status_.Update(c->GetAttr("data_format", &format_));
    status_.Update(c->GetAttr("dilations", &dilations_));
    status_.Update(c->GetAttr("explicit_paddings", &explicit_));
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (format_ != "NHWC") {
      return absl::UnimplementedError(absl::StrCat(
          "node '", name(), "': Conv2D on the CPU supports NHWC only, got ",
          format_));
    }
    for (int64_t d : dilations_) {
      if (d != 1) {
        return absl::UnimplementedError(
            absl::StrCat("node '", name(), "': Conv2D dilations other than 1"));
      }
    }
    if (strides_.size() != 4 || strides_[0] != 1 || strides_[3] != 1) {
      return ctx->InvalidArgument("strides must be [1, sh, sw, 1]");
    }
    const Tensor& input = ctx->input(0);
    const Tensor& filter = ctx->input(1);
    if (input.dims() != 4 || filter.dims() != 4) {
      return ctx->InvalidArgument(
          absl::StrCat("input ", input.shape().DebugString(), " and filter ",
                       filter.shape().DebugString(), " must be 4-D"));
    }
    const int64_t n = input.dim_size(0), h = input.dim_size(1),
                  w = input.dim_size(2), c = input.dim_size(3);
    const int64_t kh = filter.dim_size(0), kw = filter.dim_size(1),
                  oc = filter.dim_size(3);
    if (filter.dim_size(2) != c) {
      return ctx->InvalidArgument(absl::StrCat("input has ", c,
                                               " channels, the filter expects ",
                                               filter.dim_size(2)));
    }
    const bool ex = padding_ == "EXPLICIT";
    if (ex && explicit_.size() != 8)
      return ctx->InvalidArgument("need 8 explicit_paddings");
    absl::StatusOr<Window> wh =
        ComputeWindow(h, kh, strides_[1], padding_, ex ? explicit_[2] : 0,
                      ex ? explicit_[3] : 0);
    absl::StatusOr<Window> ww =
        ComputeWindow(w, kw, strides_[2], padding_, ex ? explicit_[4] : 0,
                      ex ? explicit_[5] : 0);
    if (!wh.ok()) return ctx->InvalidArgument(wh.status().message());
    if (!ww.ok()) return ctx->InvalidArgument(ww.status().message());
    ASSIGN_OR_RETURN(
        Tensor * out,
        ctx->allocate_output(0, TensorShape({n, wh->out, ww->out, oc})));
    if (out->NumElements() == 0) return absl::OkStatus();
    const int64_t rows = wh->out * ww->out, cols = kh * kw * c;
    Eigen::Map<const RowMajor<T>> f(filter.flat<T>().data(), cols, oc);
    const T* in = input.flat<T>().data();
    T* o = out->flat<T>().data();
    ParallelFor(ctx, n, rows * cols * oc, [&](int64_t lo, int64_t hi) {
      RowMajor<T> patches(rows, cols);
      for (int64_t b = lo; b < hi; ++b) {
        // im2col: one row per output pixel, zeros where the window leaves
        // the image.
        for (int64_t oy = 0; oy < wh->out; ++oy) {
          for (int64_t ox = 0; ox < ww->out; ++ox) {
            T* row = patches.row(oy * ww->out + ox).data();
            for (int64_t ky = 0; ky < kh; ++ky) {
              const int64_t iy = oy * strides_[1] - wh->pad_before + ky;
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = ox * strides_[2] - ww->pad_before + kx;
                T* dst = row + (ky * kw + kx) * c;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                  std::fill(dst, dst + c, T(0));
                } else {
                  const T* src = in + ((b * h + iy) * w + ix) * c;
                  std::copy(src, src + c, dst);
                }
              }
            }
          }
        }
        Eigen::Map<RowMajor<T>> result(o + b * rows * oc, rows, oc);
        result.noalias() = patches * f;
      }
    });
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::vector<int64_t> strides_, dilations_, explicit_;
  std::string padding_, format_;
};

template <bool kMax>
struct Pool {
  template <typename T>
  class Op : public OpKernel {
   public:
    explicit Op(OpKernelConstruction* c) : OpKernel(c) {
      status_.Update(c->GetAttr("ksize", &ksize_));
      status_.Update(c->GetAttr("strides", &strides_));
      status_.Update(c->GetAttr("padding", &padding_));
      status_.Update(c->GetAttr("data_format", &format_));
    }
    absl::Status Compute(OpKernelContext* ctx) const override {
      RETURN_IF_ERROR(status_);
      if (format_ != "NHWC") {
        return absl::UnimplementedError(absl::StrCat(
            "node '", name(), "': pooling on the CPU supports NHWC only, got ",
            format_));
      }
      if (padding_ == "EXPLICIT") {
        return absl::UnimplementedError(
            absl::StrCat("node '", name(), "': EXPLICIT padding for pooling"));
      }
      if (ksize_.size() != 4 || strides_.size() != 4 || ksize_[0] != 1 ||
          ksize_[3] != 1 || strides_[0] != 1 || strides_[3] != 1) {
        return ctx->InvalidArgument("ksize and strides must be [1, h, w, 1]");
      }
      const Tensor& input = ctx->input(0);
      if (input.dims() != 4) return ctx->InvalidArgument("input must be 4-D");
      const int64_t n = input.dim_size(0), h = input.dim_size(1),
                    w = input.dim_size(2), c = input.dim_size(3);
      absl::StatusOr<Window> wh =
          ComputeWindow(h, ksize_[1], strides_[1], padding_, 0, 0);
      absl::StatusOr<Window> ww =
          ComputeWindow(w, ksize_[2], strides_[2], padding_, 0, 0);
      if (!wh.ok()) return ctx->InvalidArgument(wh.status().message());
      if (!ww.ok()) return ctx->InvalidArgument(ww.status().message());
      ASSIGN_OR_RETURN(
          Tensor * out,
          ctx->allocate_output(0, TensorShape({n, wh->out, ww->out, c})));
      auto in = input.flat<T>();
      auto o = out->flat<T>();
      for (int64_t b = 0; b < n; ++b) {
        for (int64_t oy = 0; oy < wh->out; ++oy) {
          for (int64_t ox = 0; ox < ww->out; ++ox) {
            for (int64_t ch = 0; ch < c; ++ch) {
              T acc = kMax ? std::numeric_limits<T>::lowest() : T(0);
              int64_t count = 0;
              for (int64_t ky = 0; ky < ksize_[1]; ++ky) {
                const int64_t iy = oy * strides_[1] - wh->pad_before + ky;
                if (iy < 0 || iy >= h) continue;
                for (int64_t kx = 0; kx < ksize_[2]; ++kx) {
                  const int64_t ix = ox * strides_[2] - ww->pad_before + kx;
                  if (ix < 0 || ix >= w) continue;
                  const T v = in[((b * h + iy) * w + ix) * c + ch];
                  acc = kMax ? std::max(acc, v) : acc + v;
                  ++count;
                }
              }
              // Padding never counts: an average is over the real elements.
              o[((b * wh->out + oy) * ww->out + ox) * c + ch] =
                  kMax ? acc : (count > 0 ? acc / static_cast<T>(count) : T(0));
            }
          }
        }
      }
      return absl::OkStatus();
    }

   private:
    absl::Status status_;
    std::vector<int64_t> ksize_, strides_;
    std::string padding_, format_;
  };
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<Conv2DOp, float, double>(
      KernelDef("Conv2D", kDeviceCpu), "T");
  RegisterKernelForTypes<Pool<true>::Op, float, double>(
      KernelDef("MaxPool", kDeviceCpu), "T");
  RegisterKernelForTypes<Pool<false>::Op, float, double>(
      KernelDef("AvgPool", kDeviceCpu), "T");
  return true;
}();

}  // namespace
}  // namespace rill
