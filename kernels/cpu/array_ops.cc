// Shape and layout kernels: Shape, Size, Rank, Reshape, ExpandDims, Squeeze,
// Fill, ZerosLike, OnesLike, Cast.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

template <typename T>
Tensor IntVector(const std::vector<int64_t>& v) {
  std::vector<T> cast(v.begin(), v.end());
  return Tensor::FromVector<T>(cast);
}

class ShapeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      const auto dims = ctx->input(i).shape().dim_sizes();
      std::vector<int64_t> v(dims.begin(), dims.end());
      if (output_type(i) == DT_INT32) {
        for (int64_t d : v) {
          if (d > INT32_MAX) {
            return ctx->InvalidArgument("a dimension does not fit in int32");
          }
        }
        ctx->set_output(i, IntVector<int32_t>(v));
      } else {
        ctx->set_output(i, IntVector<int64_t>(v));
      }
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class SizeRankOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const int64_t v = type_string() == "Rank" ? ctx->input(0).dims()
                                              : ctx->input(0).NumElements();
    if (output_type(0) == DT_INT32) {
      ctx->set_output(0, Tensor::Scalar<int32_t>(static_cast<int32_t>(v)));
    } else {
      ctx->set_output(0, Tensor::Scalar<int64_t>(v));
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// Reshape, ExpandDims and Squeeze only change the shape: the output shares
// the input's buffer.
class ReshapeOp : public OpKernel {
 public:
  explicit ReshapeOp(OpKernelConstruction* c) : OpKernel(c) {
    if (type_string() == "Squeeze") {
      status_ = c->GetAttr("squeeze_dims", &squeeze_dims_);
    }
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    ASSIGN_OR_RETURN(TensorShape shape, OutputShape(ctx, in));
    absl::StatusOr<Tensor> out = in.Reshape(shape);
    if (!out.ok()) return ctx->InvalidArgument(out.status().message());
    ctx->set_output(0, *std::move(out));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::StatusOr<TensorShape> OutputShape(OpKernelContext* ctx,
                                          const Tensor& in) const {
    const auto dims = in.shape().dim_sizes();
    std::vector<int64_t> out(dims.begin(), dims.end());
    if (type_string() == "Reshape") {
      std::vector<int64_t> target = IntValues(ctx->input(1));
      int unknown = -1;
      int64_t product = 1;
      for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] == -1) {
          if (unknown >= 0)
            return ctx->InvalidArgument("only one dimension may be -1");
          unknown = static_cast<int>(i);
        } else if (target[i] < 0) {
          return ctx->InvalidArgument(
              absl::StrCat("bad dimension ", target[i]));
        } else {
          product *= target[i];
        }
      }
      if (unknown >= 0) {
        if (product == 0 || in.NumElements() % product != 0) {
          return ctx->InvalidArgument(absl::StrCat(
              "cannot reshape a tensor of ", in.NumElements(),
              " elements to a shape with -1 and a product of ", product));
        }
        target[unknown] = in.NumElements() / product;
      }
      return TensorShape::Create(target);
    }
    if (type_string() == "ExpandDims") {
      std::vector<int64_t> dim = IntValues(ctx->input(1));
      if (dim.size() != 1) return ctx->InvalidArgument("dim must be a scalar");
      absl::StatusOr<int> axis = CanonicalAxis(dim[0], in.dims() + 1);
      if (!axis.ok()) return ctx->InvalidArgument(axis.status().message());
      out.insert(out.begin() + *axis, 1);
      return TensorShape::Create(out);
    }
    // Squeeze.
    std::vector<bool> drop(out.size(), false);
    for (int64_t a : squeeze_dims_) {
      absl::StatusOr<int> axis = CanonicalAxis(a, in.dims());
      if (!axis.ok()) return ctx->InvalidArgument(axis.status().message());
      if (out[*axis] != 1) {
        return ctx->InvalidArgument(absl::StrCat("cannot squeeze dimension ", a,
                                                 " of size ", out[*axis]));
      }
      drop[*axis] = true;
    }
    std::vector<int64_t> kept;
    for (size_t i = 0; i < out.size(); ++i) {
      const bool squeeze = squeeze_dims_.empty() ? out[i] == 1 : drop[i];
      if (!squeeze) kept.push_back(out[i]);
    }
    return TensorShape::Create(kept);
  }

  absl::Status status_;
  std::vector<int64_t> squeeze_dims_;
};

template <typename T>
class FillOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    absl::StatusOr<TensorShape> shape =
        TensorShape::Create(IntValues(ctx->input(0)));
    if (!shape.ok()) return ctx->InvalidArgument(shape.status().message());
    if (ctx->input(1).NumElements() != 1) {
      return ctx->InvalidArgument("value must be a scalar");
    }
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, *shape));
    const T v = ctx->input(1).flat<T>()[0];
    for (T& x : out->flat<T>()) x = v;
    return absl::OkStatus();
  }
};

template <int kValue>
struct ConstLike {
  template <typename T>
  class Op : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext* ctx) const override {
      Tensor* out;
      if constexpr (kValue != 0) {
        ASSIGN_OR_RETURN(
            out, ctx->allocate_output_for_overwrite(0, ctx->input(0).shape()));
        for (T& x : out->flat<T>()) x = static_cast<T>(kValue);
      } else {
        ASSIGN_OR_RETURN(out, ctx->allocate_output(0, ctx->input(0).shape()));
      }
      return absl::OkStatus();
    }
    bool IsExpensive() const override { return false; }
  };
};

class CastOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, in.shape()));
    return VisitDataType(
        in.dtype(),
        [&]<typename S>() -> absl::Status {
          // Decided here, not in the inner lambda: clang checks an inner
          // lambda's expressions in S once S is known, whatever D is.
          if constexpr (!std::is_arithmetic_v<S>) {
            return Unsupported(in.dtype(), out->dtype());
          } else {
            return VisitDataType(
                out->dtype(),
                [&]<typename D>() -> absl::Status {
                  if constexpr (std::is_arithmetic_v<D>) {
                    auto s = in.flat<S>();
                    auto d = out->flat<D>();
                    for (size_t i = 0; i < s.size(); ++i) {
                      if constexpr (std::is_same_v<D, bool>) {
                        d[i] = s[i] != S(0);
                      } else {
                        d[i] = static_cast<D>(s[i]);
                      }
                    }
                    return absl::OkStatus();
                  } else {
                    return Unsupported(in.dtype(), out->dtype());
                  }
                },
                [&] { return Unsupported(in.dtype(), out->dtype()); });
          }
        },
        [&] { return Unsupported(in.dtype(), out->dtype()); });
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status Unsupported(DataType from, DataType to) const {
    return absl::UnimplementedError(
        absl::StrCat("node '", name(), "': cast from ", DataTypeName(from),
                     " to ", DataTypeName(to), " is not supported"));
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<ShapeOp>(KernelDef("Shape", kDeviceCpu));
  RegisterKernel<ShapeOp>(KernelDef("ShapeN", kDeviceCpu));
  RegisterKernel<SizeRankOp>(KernelDef("Size", kDeviceCpu));
  RegisterKernel<SizeRankOp>(KernelDef("Rank", kDeviceCpu));
  for (const char* op : {"Reshape", "ExpandDims", "Squeeze"}) {
    RegisterKernel<ReshapeOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernelForTypes<FillOp, float, double, int32_t, int64_t, bool>(
      KernelDef("Fill", kDeviceCpu), "T");
  RegisterKernelForTypes<ConstLike<0>::Op, float, double, int32_t, int64_t,
                         bool>(KernelDef("ZerosLike", kDeviceCpu), "T");
  RegisterKernelForTypes<ConstLike<1>::Op, float, double, int32_t, int64_t,
                         bool>(KernelDef("OnesLike", kDeviceCpu), "T");
  RegisterKernel<CastOp>(KernelDef("Cast", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
