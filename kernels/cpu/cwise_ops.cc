// Element-wise kernels: binary ops with numpy/TensorFlow broadcasting, and
// unary math. One functor per op; dtypes are expanded by templates.
//
// Integer Add/Sub/Mul wrap around on overflow, as in TensorFlow (computed
// in unsigned arithmetic, so the wrap is defined behavior). Integer
// division by zero is INVALID_ARGUMENT.
#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/broadcast.h"

namespace rill {
namespace {

template <typename T>
T Wrap(std::make_unsigned_t<T> v) {
  return static_cast<T>(v);
}

struct AddF {
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return Wrap<T>(static_cast<U>(a) + static_cast<U>(b));
    } else {
      return a + b;
    }
  }
};
struct SubF {
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return Wrap<T>(static_cast<U>(a) - static_cast<U>(b));
    } else {
      return a - b;
    }
  }
};
struct MulF {
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return Wrap<T>(static_cast<U>(a) * static_cast<U>(b));
    } else {
      return a * b;
    }
  }
};
// x / y, and 0 where y is 0 (whatever x is).
struct DivNoNanF {
  template <typename T>
  static T Apply(T a, T b) {
    return b == T(0) ? T(0) : a / b;
  }
};
struct Atan2F {
  template <typename T>
  static T Apply(T y, T x) {
    return std::atan2(y, x);
  }
};
// Div: true division for floats, truncating for integers (TensorFlow's Div).
struct DivF {
  static constexpr bool kChecksZero = true;
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b == -1) return Wrap<T>(-static_cast<std::make_unsigned_t<T>>(a));
      return a / b;
    } else {
      return a / b;
    }
  }
};
struct FloorDivF {
  static constexpr bool kChecksZero = true;
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b == -1) return Wrap<T>(-static_cast<std::make_unsigned_t<T>>(a));
      T q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    } else {
      return std::floor(a / b);
    }
  }
};
struct FloorModF {
  static constexpr bool kChecksZero = true;
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b == -1) return 0;
      T r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      T r = std::fmod(a, b);
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    }
  }
};
struct MaximumF {
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b))
        return std::numeric_limits<T>::quiet_NaN();
    }
    return a > b ? a : b;
  }
};
struct MinimumF {
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b))
        return std::numeric_limits<T>::quiet_NaN();
    }
    return a < b ? a : b;
  }
};
struct PowF {
  template <typename T>
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      // Exponentiation by squaring, wrapping like Mul; negative exponents
      // are rejected before the loop runs.
      using U = std::make_unsigned_t<T>;
      U result = 1, base = static_cast<U>(a);
      for (T e = b; e > 0; e >>= 1) {
        if (e & 1) result *= base;
        base *= base;
      }
      return static_cast<T>(result);
    } else {
      return std::pow(a, b);
    }
  }
};
struct SquaredDifferenceF {
  template <typename T>
  static T Apply(T a, T b) {
    const T d = SubF::Apply(a, b);
    return MulF::Apply(d, d);
  }
};
struct LessF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a < b;
  }
};
struct LessEqualF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a <= b;
  }
};
struct GreaterF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a > b;
  }
};
struct GreaterEqualF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a >= b;
  }
};
struct EqualF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a == b;
  }
};
struct NotEqualF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a != b;
  }
};
struct LogicalAndF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a && b;
  }
};
struct LogicalOrF {
  template <typename T>
  static bool Apply(T a, T b) {
    return a || b;
  }
};

template <typename F>
constexpr bool ChecksZero() {
  if constexpr (requires { F::kChecksZero; }) {
    return F::kChecksZero;
  } else {
    return false;
  }
}

template <typename F, typename T>
class BinaryOp : public OpKernel {
 public:
  using Out = decltype(F::Apply(T(), T()));
  using OpKernel::OpKernel;

  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    // Equal shapes and scalars are the common cases: no broadcast arithmetic.
    TensorShape out_shape;
    if (a.shape() == b.shape() ||
        (b.NumElements() == 1 && b.dims() <= a.dims())) {
      out_shape = a.shape();
    } else if (a.NumElements() == 1 && a.dims() <= b.dims()) {
      out_shape = b.shape();
    } else {
      absl::StatusOr<PartialTensorShape> shape = BroadcastShapes(
          PartialTensorShape(a.shape()), PartialTensorShape(b.shape()));
      if (!shape.ok()) return ctx->InvalidArgument(shape.status().message());
      ASSIGN_OR_RETURN(out_shape, shape->AsTensorShape());
    }
    // Everything read from the inputs is taken before an input's buffer may
    // move to the output (the spans stay valid: the buffer lives on).
    const auto av = a.flat<T>();
    const auto bv = b.flat<T>();
    const int64_t na = a.NumElements(), nb = b.NumElements();
    const bool broadcast =
        !(na == nb && nb == out_shape.num_elements()) && na != 1 && nb != 1;
    // On the heap, and only when needed: an empty std::optional of it was
    // zero-filled on every call, a tenth of a scalar add.
    std::unique_ptr<BroadcastIndexer> index;
    if (broadcast) {
      index =
          std::make_unique<BroadcastIndexer>(out_shape, a.shape(), b.shape());
    }
    const bool forward_a = a.shape() == out_shape;
    if constexpr (ChecksZero<F>() && std::is_integral_v<T>) {
      for (T v : bv) {
        if (v == 0) return ctx->InvalidArgument("integer division by zero");
      }
    }
    if constexpr (std::is_same_v<F, PowF> && std::is_integral_v<T>) {
      for (T v : bv) {
        if (v < 0) {
          return ctx->InvalidArgument(
              "integers to negative integer powers are not allowed");
        }
      }
    }
    Tensor* out;
    if constexpr (std::is_same_v<Out, T>) {
      ASSIGN_OR_RETURN(out, ctx->forward_input_or_allocate_output(
                                forward_a ? 0 : 1, 0, out_shape));
    } else {
      ASSIGN_OR_RETURN(out, ctx->allocate_output_for_overwrite(0, out_shape));
    }
    auto ov = out->flat<Out>();
    const int64_t n = ov.size();
    // When the output reuses an input's buffer, element i is read before it
    // is written and never read again, so the in-place update is safe.
    if (na == n && nb == n) {
      ParallelFor(ctx, n, 2, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) ov[i] = F::Apply(av[i], bv[i]);
      });
    } else if (nb == 1 && na == n) {
      const T s = bv[0];
      ParallelFor(ctx, n, 2, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) ov[i] = F::Apply(av[i], s);
      });
    } else if (na == 1 && nb == n) {
      const T s = av[0];
      ParallelFor(ctx, n, 2, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) ov[i] = F::Apply(s, bv[i]);
      });
    } else {
      ParallelFor(ctx, n, 4, [&](int64_t lo, int64_t hi) {
        index->ForRange(lo, hi, [&](int64_t i, int64_t ia, int64_t ib) {
          ov[i] = F::Apply(av[ia], bv[ib]);
        });
      });
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

template <typename F>
struct Bind {
  template <typename T>
  using Op = BinaryOp<F, T>;
};

// Unary functors.
struct NegF {
  template <typename T>
  static T Apply(T x) {
    if constexpr (std::is_integral_v<T>) {
      return Wrap<T>(-static_cast<std::make_unsigned_t<T>>(x));
    } else {
      return -x;
    }
  }
};
struct AbsF {
  template <typename T>
  static T Apply(T x) {
    return x < 0 ? NegF::Apply(x) : x;
  }
};
struct SquareF {
  template <typename T>
  static T Apply(T x) {
    return MulF::Apply(x, x);
  }
};
struct SignF {
  template <typename T>
  static T Apply(T x) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x)) return x;
    }
    return static_cast<T>((x > 0) - (x < 0));
  }
};
struct SqrtF {
  template <typename T>
  static T Apply(T x) {
    return std::sqrt(x);
  }
};
struct RsqrtF {
  template <typename T>
  static T Apply(T x) {
    return T(1) / std::sqrt(x);
  }
};
struct ExpF {
  template <typename T>
  static T Apply(T x) {
    return std::exp(x);
  }
};
struct LogF {
  template <typename T>
  static T Apply(T x) {
    return std::log(x);
  }
};
struct Log1pF {
  template <typename T>
  static T Apply(T x) {
    return std::log1p(x);
  }
};
// std::sin, std::cos, ... for every floating point type.
#define RILL_STD_UNARY_(Name, fn) \
  struct Name {                   \
    template <typename T>         \
    static T Apply(T x) {         \
      return std::fn(x);          \
    }                             \
  };
RILL_STD_UNARY_(SinF, sin)
RILL_STD_UNARY_(CosF, cos)
RILL_STD_UNARY_(TanF, tan)
RILL_STD_UNARY_(AsinF, asin)
RILL_STD_UNARY_(AcosF, acos)
RILL_STD_UNARY_(AtanF, atan)
RILL_STD_UNARY_(SinhF, sinh)
RILL_STD_UNARY_(CoshF, cosh)
RILL_STD_UNARY_(AsinhF, asinh)
RILL_STD_UNARY_(AcoshF, acosh)
RILL_STD_UNARY_(AtanhF, atanh)
RILL_STD_UNARY_(Expm1F, expm1)
#undef RILL_STD_UNARY_
struct TanhF {
  template <typename T>
  static T Apply(T x) {
    return std::tanh(x);
  }
};
struct FloorF {
  template <typename T>
  static T Apply(T x) {
    return std::floor(x);
  }
};
struct CeilF {
  template <typename T>
  static T Apply(T x) {
    return std::ceil(x);
  }
};
// Round and Rint: halves to even (the default rounding mode).
struct RintF {
  template <typename T>
  static T Apply(T x) {
    if constexpr (std::is_integral_v<T>) {
      return x;
    } else {
      return std::nearbyint(x);
    }
  }
};
struct ErfF {
  template <typename T>
  static T Apply(T x) {
    return std::erf(x);
  }
};
struct ErfcF {
  template <typename T>
  static T Apply(T x) {
    return std::erfc(x);
  }
};
// log(1 + e^x) without overflow.
struct SoftplusF {
  template <typename T>
  static T Apply(T x) {
    return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
};
struct SoftsignF {
  template <typename T>
  static T Apply(T x) {
    return x / (T(1) + std::abs(x));
  }
};
// Scaled exponential linear unit, with its fixed constants.
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
struct SeluF {
  template <typename T>
  static T Apply(T x) {
    return x > T(0) ? T(kSeluScale) * x
                    : T(kSeluScale * kSeluAlpha) * std::expm1(x);
  }
};
struct IsFiniteF {
  template <typename T>
  static bool Apply(T x) {
    return std::isfinite(x);
  }
};
struct IsInfF {
  template <typename T>
  static bool Apply(T x) {
    return std::isinf(x);
  }
};
struct IsNanF {
  template <typename T>
  static bool Apply(T x) {
    return std::isnan(x);
  }
};
struct SigmoidF {
  template <typename T>
  static T Apply(T x) {
    return T(1) / (T(1) + std::exp(-x));
  }
};
struct ReciprocalF {
  template <typename T>
  static T Apply(T x) {
    if constexpr (std::is_integral_v<T>) {
      return x == 0 ? 0 : T(1) / x;
    } else {
      return T(1) / x;
    }
  }
};
struct LogicalNotF {
  template <typename T>
  static bool Apply(T x) {
    return !x;
  }
};

template <typename F, typename T>
class UnaryOp : public OpKernel {
 public:
  using Out = decltype(F::Apply(T()));
  using OpKernel::OpKernel;

  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& x = ctx->input(0);
    const auto xv = x.flat<T>();  // Stays valid if the buffer moves to out.
    const TensorShape shape = x.shape();
    Tensor* out;
    if constexpr (std::is_same_v<Out, T>) {
      ASSIGN_OR_RETURN(out, ctx->forward_input_or_allocate_output(0, 0, shape));
    } else {
      ASSIGN_OR_RETURN(out, ctx->allocate_output_for_overwrite(0, shape));
    }
    auto ov = out->flat<Out>();
    ParallelFor(ctx, ov.size(), 8, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) ov[i] = F::Apply(xv[i]);
    });
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

template <typename F>
struct BindUnary {
  template <typename T>
  using Op = UnaryOp<F, T>;
};

// The gradient helpers z = f(a, b) of two same-shaped inputs: (y, dy) for
// TanhGrad, SigmoidGrad, SqrtGrad, RsqrtGrad, ReciprocalGrad; (gradients,
// outputs or features) for EluGrad, SeluGrad and LeakyReluGrad.
struct TanhGradF {
  template <typename T>
  static T Apply(T y, T dy, float) {
    return dy * (T(1) - y * y);
  }
};
struct SigmoidGradF {
  template <typename T>
  static T Apply(T y, T dy, float) {
    return dy * y * (T(1) - y);
  }
};
struct SqrtGradF {
  template <typename T>
  static T Apply(T y, T dy, float) {
    return dy * T(0.5) / y;
  }
};
struct RsqrtGradF {
  template <typename T>
  static T Apply(T y, T dy, float) {
    return dy * T(-0.5) * y * y * y;
  }
};
struct ReciprocalGradF {
  template <typename T>
  static T Apply(T y, T dy, float) {
    return -dy * y * y;
  }
};
struct EluGradF {
  template <typename T>
  static T Apply(T g, T y, float) {
    return y > T(0) ? g : g * (y + T(1));
  }
};
// SeluGrad(g, y): y + scale * alpha is the slope where y <= 0.
struct SeluGradF {
  template <typename T>
  static T Apply(T g, T y, float) {
    return y > T(0) ? g * T(kSeluScale) : g * (y + T(kSeluScale * kSeluAlpha));
  }
};
struct LeakyReluGradF {
  template <typename T>
  static T Apply(T g, T x, float alpha) {
    return x > T(0) ? g : static_cast<T>(alpha) * g;
  }
};

template <typename F, typename T>
class GradHelperOp : public OpKernel {
 public:
  explicit GradHelperOp(OpKernelConstruction* c) : OpKernel(c) {
    if (c->attrs().contains("alpha")) status_ = c->GetAttr("alpha", &alpha_);
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    if (a.shape() != b.shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "inputs must have the same shape, got ", a.shape().DebugString(),
          " and ", b.shape().DebugString()));
    }
    const auto av = a.flat<T>();
    const auto bv = b.flat<T>();
    const TensorShape shape = a.shape();
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->forward_input_or_allocate_output(1, 0, shape));
    auto ov = out->flat<T>();
    const float alpha = alpha_;
    ParallelFor(ctx, ov.size(), 8, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) ov[i] = F::Apply(av[i], bv[i], alpha);
    });
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  float alpha_ = 0;
};

template <typename F>
struct BindGradHelper {
  template <typename T>
  using Op = GradHelperOp<F, T>;
};

template <typename F, typename... Ts>
void Binary(const char* op) {
  RegisterKernelForTypes<Bind<F>::template Op, Ts...>(KernelDef(op, kDeviceCpu),
                                                      "T");
}
template <typename F, typename... Ts>
void Unary(const char* op) {
  RegisterKernelForTypes<BindUnary<F>::template Op, Ts...>(
      KernelDef(op, kDeviceCpu), "T");
}

[[maybe_unused]] const bool kRegistered = [] {
  Binary<AddF, float, double, int32_t, int64_t>("AddV2");
  Binary<AddF, float, double, int32_t, int64_t>("Add");
  Binary<SubF, float, double, int32_t, int64_t>("Sub");
  Binary<MulF, float, double, int32_t, int64_t>("Mul");
  Binary<DivF, float, double>("RealDiv");
  Binary<DivF, float, double, int32_t, int64_t>("Div");
  Binary<DivNoNanF, float, double>("DivNoNan");
  Binary<Atan2F, float, double>("Atan2");
  Binary<FloorDivF, float, double, int32_t, int64_t>("FloorDiv");
  Binary<FloorModF, float, double, int32_t, int64_t>("FloorMod");
  Binary<MaximumF, float, double, int32_t, int64_t>("Maximum");
  Binary<MinimumF, float, double, int32_t, int64_t>("Minimum");
  Binary<PowF, float, double, int32_t, int64_t>("Pow");
  Binary<SquaredDifferenceF, float, double, int32_t, int64_t>(
      "SquaredDifference");
  Binary<LessF, float, double, int32_t, int64_t>("Less");
  Binary<LessEqualF, float, double, int32_t, int64_t>("LessEqual");
  Binary<GreaterF, float, double, int32_t, int64_t>("Greater");
  Binary<GreaterEqualF, float, double, int32_t, int64_t>("GreaterEqual");
  Binary<EqualF, float, double, int32_t, int64_t, bool, std::string>("Equal");
  Binary<NotEqualF, float, double, int32_t, int64_t, bool, std::string>(
      "NotEqual");
  RegisterKernelForTypes<BindGradHelper<TanhGradF>::Op, float, double>(
      KernelDef("TanhGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<SigmoidGradF>::Op, float, double>(
      KernelDef("SigmoidGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<SqrtGradF>::Op, float, double>(
      KernelDef("SqrtGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<RsqrtGradF>::Op, float, double>(
      KernelDef("RsqrtGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<ReciprocalGradF>::Op, float, double>(
      KernelDef("ReciprocalGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<EluGradF>::Op, float, double>(
      KernelDef("EluGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<LeakyReluGradF>::Op, float, double>(
      KernelDef("LeakyReluGrad", kDeviceCpu), "T");
  RegisterKernelForTypes<BindGradHelper<SeluGradF>::Op, float, double>(
      KernelDef("SeluGrad", kDeviceCpu), "T");
  RegisterKernel<BinaryOp<LogicalAndF, bool>>(
      KernelDef("LogicalAnd", kDeviceCpu));
  RegisterKernel<BinaryOp<LogicalOrF, bool>>(
      KernelDef("LogicalOr", kDeviceCpu));
  RegisterKernel<UnaryOp<LogicalNotF, bool>>(
      KernelDef("LogicalNot", kDeviceCpu));

  Unary<NegF, float, double, int32_t, int64_t>("Neg");
  Unary<AbsF, float, double, int32_t, int64_t>("Abs");
  Unary<SquareF, float, double, int32_t, int64_t>("Square");
  Unary<SignF, float, double, int32_t, int64_t>("Sign");
  Unary<ReciprocalF, float, double>("Reciprocal");
  Unary<ReciprocalF, float, double>("Inv");
  Unary<SinF, float, double>("Sin");
  Unary<CosF, float, double>("Cos");
  Unary<TanF, float, double>("Tan");
  Unary<AsinF, float, double>("Asin");
  Unary<AcosF, float, double>("Acos");
  Unary<AtanF, float, double>("Atan");
  Unary<SinhF, float, double>("Sinh");
  Unary<CoshF, float, double>("Cosh");
  Unary<AsinhF, float, double>("Asinh");
  Unary<AcoshF, float, double>("Acosh");
  Unary<AtanhF, float, double>("Atanh");
  Unary<Expm1F, float, double>("Expm1");
  Unary<SqrtF, float, double>("Sqrt");
  Unary<RsqrtF, float, double>("Rsqrt");
  Unary<ExpF, float, double>("Exp");
  Unary<LogF, float, double>("Log");
  Unary<Log1pF, float, double>("Log1p");
  Unary<TanhF, float, double>("Tanh");
  Unary<SigmoidF, float, double>("Sigmoid");
  Unary<FloorF, float, double>("Floor");
  Unary<CeilF, float, double>("Ceil");
  Unary<RintF, float, double>("Rint");
  Unary<RintF, float, double, int32_t, int64_t>("Round");
  Unary<ErfF, float, double>("Erf");
  Unary<ErfcF, float, double>("Erfc");
  Unary<SoftplusF, float, double>("Softplus");
  Unary<SoftsignF, float, double>("Softsign");
  Unary<SeluF, float, double>("Selu");
  Unary<IsFiniteF, float, double>("IsFinite");
  Unary<IsInfF, float, double>("IsInf");
  Unary<IsNanF, float, double>("IsNan");
  return true;
}();

}  // namespace
}  // namespace rill
