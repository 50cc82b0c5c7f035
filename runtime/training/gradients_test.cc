// Symbolic gradients: every gradient function against central differences
// in float64, the registry's coverage of the kernel set, and the behaviour
// of AddSymbolicGradients itself (sums over consumers, unconnected inputs,
// errors).
#include "runtime/training/gradients.h"

#include <functional>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "core/framework/kernel_registry.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"
#include "runtime/training/gradient_checker.h"

namespace rill {
namespace {

using ::tensorflow::DT_DOUBLE;
using Xs = std::vector<Output>;

struct Check {
  std::string name;
  std::vector<TensorShape> shapes;  // One float64 placeholder per shape.
  std::function<Output(const Scope&, const Xs&)> build;
  // Values: distinct, in [lo, lo + 1); `signed_values` flips every other.
  double lo = 0.2;
  bool signed_values = false;
  double tolerance = 1e-6;
  double delta = 1e-6;
};

// Distinct values, spread so that no two are within 1/(2n) of each other
// (max/min ties and kinks stay away from the perturbation).
Tensor Values(const TensorShape& shape, int seed, const Check& c) {
  Tensor t = *Tensor::Create(DT_DOUBLE, shape);
  const int64_t n = t.NumElements();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = (i * 7 + seed * 3) % std::max<int64_t>(n, 1);
    double v = c.lo + (k + 0.5 + 0.1 * seed) / (n + 1);
    if (c.signed_values && i % 2 == 1) v = -v;
    t.flat<double>()[i] = v;
  }
  return t;
}

Output D(const Scope& s, std::initializer_list<Initializer> v) {
  return ops::Cast(s, ops::Const(s, v), DT_DOUBLE);
}

std::map<std::string, std::vector<Check>> Checks() {
  std::map<std::string, std::vector<Check>> m;
  auto add = [&m](const std::string& op, Check c) {
    if (c.name.empty()) c.name = op;
    m[op].push_back(std::move(c));
  };
  auto unary = [&](const std::string& op,
                   std::function<Output(const Scope&, Output)> f,
                   bool signed_values = false) {
    add(op, {op,
             {TensorShape({2, 3})},
             [f](const Scope& s, const Xs& x) { return f(s, x[0]); },
             0.2,
             signed_values});
  };
  unary(
      "Neg", [](const Scope& s, Output x) { return ops::Neg(s, x); }, true);
  unary(
      "Abs", [](const Scope& s, Output x) { return ops::Abs(s, x); }, true);
  unary(
      "Square", [](const Scope& s, Output x) { return ops::Square(s, x); },
      true);
  unary("Sqrt", [](const Scope& s, Output x) { return ops::Sqrt(s, x); });
  unary("Rsqrt", [](const Scope& s, Output x) { return ops::Rsqrt(s, x); });
  unary(
      "Tanh", [](const Scope& s, Output x) { return ops::Tanh(s, x); }, true);
  unary(
      "Sigmoid", [](const Scope& s, Output x) { return ops::Sigmoid(s, x); },
      true);
  unary(
      "Reciprocal",
      [](const Scope& s, Output x) { return ops::Reciprocal(s, x); }, true);
  unary(
      "Exp", [](const Scope& s, Output x) { return ops::Exp(s, x); }, true);
  unary("Log", [](const Scope& s, Output x) { return ops::Log(s, x); });
  unary("Log1p", [](const Scope& s, Output x) { return ops::Log1p(s, x); });
  unary(
      "Inv", [](const Scope& s, Output x) { return ops::Inv(s, x); }, true);
  unary(
      "Sin", [](const Scope& s, Output x) { return ops::Sin(s, x); }, true);
  unary(
      "Cos", [](const Scope& s, Output x) { return ops::Cos(s, x); }, true);
  unary(
      "Tan", [](const Scope& s, Output x) { return ops::Tan(s, x); }, true);
  unary(
      "Atan", [](const Scope& s, Output x) { return ops::Atan(s, x); }, true);
  unary(
      "Sinh", [](const Scope& s, Output x) { return ops::Sinh(s, x); }, true);
  unary(
      "Cosh", [](const Scope& s, Output x) { return ops::Cosh(s, x); }, true);
  unary(
      "Asinh", [](const Scope& s, Output x) { return ops::Asinh(s, x); }, true);
  unary(
      "Expm1", [](const Scope& s, Output x) { return ops::Expm1(s, x); }, true);
  // Inside their domains: |x| < 1, and x > 1 for Acosh.
  for (const char* op : {"Asin", "Acos", "Atanh"}) {
    unary(
        op,
        [op = std::string(op)](const Scope& s, Output x) -> Output {
          auto half = ops::Mul(s, x, ops::Const(s, 0.5));
          if (op == "Asin") return ops::Asin(s, half);
          if (op == "Acos") return ops::Acos(s, half);
          return ops::Atanh(s, half);
        },
        true);
  }
  unary(
      "CheckNumerics",
      [](const Scope& s, Output x) {
        return ops::CheckNumerics(s, ops::Square(s, x), "x squared");
      },
      true);
  unary(
      "Print",
      [](const Scope& s, Output x) {
        return ops::Print(s, ops::Square(s, x), {x},
                          ops::Print::Message("x: ").FirstN(1));
      },
      true);
  // Rows 0, 2 (twice) and 4 of five into segments 0, 0, 1, 3 (2 empty).
  for (const char* op :
       {"SparseSegmentSum", "SparseSegmentMean", "SparseSegmentSqrtN"}) {
    add(op, {op,
             {TensorShape({5, 2})},
             [op = std::string(op)](const Scope& s, const Xs& x) -> Output {
               auto indices = ops::Const(s, {0, 2, 2, 4});
               auto ids = ops::Const(s, {0, 0, 1, 3});
               Output y;
               if (op == "SparseSegmentSum") {
                 y = ops::SparseSegmentSum(s, x[0], indices, ids);
               } else if (op == "SparseSegmentMean") {
                 y = ops::SparseSegmentMean(s, x[0], indices, ids);
               } else {
                 y = ops::SparseSegmentSqrtN(s, x[0], indices, ids);
               }
               return ops::Square(s, y);
             }});
  }
  // Rows 1 and 3 of four are empty: they get the default value.
  add("SparseFillEmptyRows",
      {"SparseFillEmptyRows of values and the default",
       {TensorShape({3}), TensorShape({})},
       [](const Scope& s, const Xs& x) {
         auto filled = ops::SparseFillEmptyRows(
             s,
             ops::Const(s, {{int64_t{2}, int64_t{0}},
                            {int64_t{0}, int64_t{1}},
                            {int64_t{0}, int64_t{0}}}),
             x[0], ops::Const(s, {int64_t{4}, int64_t{2}}), x[1]);
         return ops::Mul(s, ops::Square(s, filled.output_values),
                         ops::Const(s, {1.0, 2.0, 3.0, 4.0, 5.0}));
       }});
  add("ReverseV2", {"ReverseV2 over both axes",
                    {TensorShape({2, 3})},
                    [](const Scope& s, const Xs& x) {
                      return ops::Mul(
                          s, ops::ReverseV2(s, x[0], ops::Const(s, {0, -1})),
                          ops::Const(s, {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}));
                    }});
  unary("Acosh", [](const Scope& s, Output x) {
    return ops::Acosh(s, ops::Add(s, x, ops::Const(s, 1.5)));
  });
  unary(
      "Erf", [](const Scope& s, Output x) { return ops::Erf(s, x); }, true);
  unary(
      "Erfc", [](const Scope& s, Output x) { return ops::Erfc(s, x); }, true);
  unary(
      "Softplus", [](const Scope& s, Output x) { return ops::Softplus(s, x); },
      true);
  unary(
      "Softsign", [](const Scope& s, Output x) { return ops::Softsign(s, x); },
      true);
  unary(
      "L2Loss", [](const Scope& s, Output x) { return ops::L2Loss(s, x); },
      true);
  unary(
      "Sign",
      [](const Scope& s, Output x) { return ops::Mul(s, ops::Sign(s, x), x); },
      true);
  unary(
      "Relu", [](const Scope& s, Output x) { return ops::Relu(s, x); }, true);
  unary(
      "Relu6",
      [](const Scope& s, Output x) {
        return ops::Relu6(s, ops::Mul(s, x, D(s, {8.0})));
      },
      true);
  unary(
      "Elu", [](const Scope& s, Output x) { return ops::Elu(s, x); }, true);
  unary(
      "Selu", [](const Scope& s, Output x) { return ops::Selu(s, x); }, true);
  unary(
      "LeakyRelu",
      [](const Scope& s, Output x) {
        return ops::LeakyRelu(s, x, ops::LeakyRelu::Alpha(0.3f));
      },
      true);
  unary(
      "Softmax", [](const Scope& s, Output x) { return ops::Softmax(s, x); },
      true);
  unary(
      "LogSoftmax",
      [](const Scope& s, Output x) { return ops::LogSoftmax(s, x); }, true);
  add("Cast", {"Cast through float32",
               {TensorShape({3})},
               [](const Scope& s, const Xs& x) {
                 return ops::Cast(s, ops::Cast(s, x[0], DT_FLOAT), DT_DOUBLE);
               },
               0.2,
               false,
               1e-4,
               1e-3});

  // Gradient helpers, differentiated in both inputs.
  auto helper = [&](const std::string& op,
                    std::function<Output(const Scope&, Output, Output)> f,
                    bool signed_values = false) {
    add(op, {op,
             {TensorShape({2, 2}), TensorShape({2, 2})},
             [f](const Scope& s, const Xs& x) { return f(s, x[0], x[1]); },
             0.2,
             signed_values});
  };
  helper("SqrtGrad", [](const Scope& s, Output a, Output b) {
    return ops::SqrtGrad(s, a, b);
  });
  helper("RsqrtGrad", [](const Scope& s, Output a, Output b) {
    return ops::RsqrtGrad(s, a, b);
  });
  helper("TanhGrad", [](const Scope& s, Output a, Output b) {
    return ops::TanhGrad(s, a, b);
  });
  helper("SigmoidGrad", [](const Scope& s, Output a, Output b) {
    return ops::SigmoidGrad(s, a, b);
  });
  helper("ReciprocalGrad", [](const Scope& s, Output a, Output b) {
    return ops::ReciprocalGrad(s, a, b);
  });
  helper(
      "ReluGrad",
      [](const Scope& s, Output a, Output b) { return ops::ReluGrad(s, a, b); },
      true);
  helper(
      "Relu6Grad",
      [](const Scope& s, Output a, Output b) {
        return ops::Relu6Grad(s, a, b);
      },
      true);
  helper(
      "LeakyReluGrad",
      [](const Scope& s, Output a, Output b) {
        return ops::LeakyReluGrad(s, a, b);
      },
      true);
  helper(
      "EluGrad",
      [](const Scope& s, Output a, Output b) { return ops::EluGrad(s, a, b); },
      true);
  helper(
      "SeluGrad",
      [](const Scope& s, Output a, Output b) { return ops::SeluGrad(s, a, b); },
      true);

  // Binary ops, with y broadcast along x's rows.
  auto binary = [&](const std::string& op,
                    std::function<Output(const Scope&, Output, Output)> f,
                    bool signed_values = false) {
    add(op, {op + " broadcast",
             {TensorShape({2, 3}), TensorShape({3})},
             [f](const Scope& s, const Xs& x) { return f(s, x[0], x[1]); },
             0.2,
             signed_values});
    add(op, {op + " both ways",
             {TensorShape({2, 1}), TensorShape({1, 3})},
             [f](const Scope& s, const Xs& x) { return f(s, x[0], x[1]); },
             0.2,
             signed_values});
  };
  binary("Add",
         [](const Scope& s, Output a, Output b) { return ops::Add(s, a, b); });
  binary("AddV2", [](const Scope& s, Output a, Output b) {
    return ops::AddV2(s, a, b);
  });
  binary("Sub",
         [](const Scope& s, Output a, Output b) { return ops::Sub(s, a, b); });
  binary(
      "Mul",
      [](const Scope& s, Output a, Output b) { return ops::Mul(s, a, b); },
      true);
  binary(
      "Div",
      [](const Scope& s, Output a, Output b) { return ops::Div(s, a, b); },
      true);
  binary(
      "RealDiv",
      [](const Scope& s, Output a, Output b) { return ops::RealDiv(s, a, b); },
      true);
  binary(
      "DivNoNan",
      [](const Scope& s, Output a, Output b) { return ops::DivNoNan(s, a, b); },
      true);
  binary(
      "Atan2",
      [](const Scope& s, Output a, Output b) { return ops::Atan2(s, a, b); },
      true);
  binary(
      "SquaredDifference",
      [](const Scope& s, Output a, Output b) {
        return ops::SquaredDifference(s, a, b);
      },
      true);
  binary(
      "Maximum",
      [](const Scope& s, Output a, Output b) { return ops::Maximum(s, a, b); },
      true);
  binary(
      "Minimum",
      [](const Scope& s, Output a, Output b) { return ops::Minimum(s, a, b); },
      true);
  binary("Pow",
         [](const Scope& s, Output a, Output b) { return ops::Pow(s, a, b); });
  add("FloorMod",
      {"FloorMod",
       {TensorShape({2, 3}), TensorShape({3})},
       [](const Scope& s, const Xs& x) {
         // x/y stays away from the integers, where it jumps.
         return ops::FloorMod(
             s, ops::AddV2(s, ops::Mul(s, x[0], D(s, {0.5})), D(s, {2.3})),
             ops::AddV2(s, ops::Mul(s, x[1], D(s, {0.1})), D(s, {0.9})));
       }});
  add("AddN", {"AddN with a repeated input",
               {TensorShape({2}), TensorShape({2})},
               [](const Scope& s, const Xs& x) {
                 return ops::AddN(s, {x[0], x[1], x[0]});
               }});
  add("Select",
      {"Select",
       {TensorShape({3}), TensorShape({3})},
       [](const Scope& s, const Xs& x) {
         return ops::Select(s, ops::Const(s, {true, false, true}), x[0], x[1]);
       }});
  add("SelectV2", {"SelectV2 broadcasting all three",
                   {TensorShape({2, 3}), TensorShape({1})},
                   [](const Scope& s, const Xs& x) {
                     return ops::SelectV2(s, ops::Const(s, {true, false, true}),
                                          x[0], x[1]);
                   }});

  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      add("MatMul", {absl::StrCat("MatMul ta=", ta, " tb=", tb),
                     {ta ? TensorShape({3, 2}) : TensorShape({2, 3}),
                      tb ? TensorShape({4, 3}) : TensorShape({3, 4})},
                     [ta, tb](const Scope& s, const Xs& x) {
                       return ops::MatMul(
                           s, x[0], x[1],
                           ops::MatMul::TransposeA(ta).TransposeB(tb));
                     },
                     0.2,
                     true});
    }
  }
  add("BatchMatMulV2", {"BatchMatMulV2 broadcast, adjoint y",
                        {TensorShape({2, 2, 3}), TensorShape({2, 3})},
                        [](const Scope& s, const Xs& x) {
                          return ops::BatchMatMulV2(
                              s, x[0], x[1], ops::BatchMatMulV2::AdjY(true));
                        },
                        0.2,
                        true});

  auto reduction = [&](const std::string& op,
                       std::function<Output(const Scope&, Output, Output)> f) {
    add(op, {op + " over axis 1",
             {TensorShape({2, 3, 2})},
             [f](const Scope& s, const Xs& x) {
               return f(s, x[0], ops::Const(s, {1}));
             },
             0.2,
             true});
    add(op, {op + " over axes 0 and -1",
             {TensorShape({2, 3, 2})},
             [f](const Scope& s, const Xs& x) {
               return f(s, x[0], ops::Const(s, {0, -1}));
             },
             0.2,
             true});
  };
  reduction("Sum", [](const Scope& s, Output x, Output a) {
    return ops::Sum(s, x, a);
  });
  reduction("Mean", [](const Scope& s, Output x, Output a) {
    return ops::Mean(s, x, a, ops::Mean::KeepDims(true));
  });
  reduction("Max", [](const Scope& s, Output x, Output a) {
    return ops::Max(s, x, a);
  });
  reduction("Min", [](const Scope& s, Output x, Output a) {
    return ops::Min(s, x, a);
  });
  reduction("Prod", [](const Scope& s, Output x, Output a) {
    return ops::Prod(s, x, a);
  });
  add("Prod",
      {"Prod with a zero in a group",
       {TensorShape({2, 3})},
       [](const Scope& s, const Xs& x) {
         return ops::Prod(
             s, ops::Mul(s, x[0], D(s, {{1.0, 0.0, 1.0}, {1.0, 1.0, 1.0}})),
             {1});
       }});
  add("Cumsum", {"Cumsum exclusive reverse",
                 {TensorShape({2, 3})},
                 [](const Scope& s, const Xs& x) {
                   return ops::Cumsum(
                       s, x[0], 1, ops::Cumsum::Exclusive(true).Reverse(true));
                 }});
  add("Cumprod",
      {"Cumprod", {TensorShape({2, 3})}, [](const Scope& s, const Xs& x) {
         return ops::Cumprod(s, x[0], 1);
       }});

  // Cross-entropies: both outputs, both inputs.
  for (int out : {0, 1}) {
    add("SoftmaxCrossEntropyWithLogits",
        {absl::StrCat("SoftmaxCrossEntropyWithLogits output ", out),
         {TensorShape({2, 3}), TensorShape({2, 3})},
         [out](const Scope& s, const Xs& x) {
           // Labels are distributions (each row sums to 1).
           auto xent = ops::SoftmaxCrossEntropyWithLogits(
               s, x[0], ops::Softmax(s, x[1]));
           return out == 0 ? xent.loss : xent.backprop;
         },
         0.2,
         true});
    add("SparseSoftmaxCrossEntropyWithLogits",
        {absl::StrCat("SparseSoftmaxCrossEntropyWithLogits output ", out),
         {TensorShape({2, 3})},
         [out](const Scope& s, const Xs& x) {
           auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(
               s, x[0], ops::Const(s, {2, 0}));
           return out == 0 ? xent.loss : xent.backprop;
         },
         0.2,
         true});
  }
  add("BiasAdd", {"BiasAdd",
                  {TensorShape({2, 3}), TensorShape({3})},
                  [](const Scope& s, const Xs& x) {
                    return ops::BiasAdd(s, x[0], x[1]);
                  }});
  add("BiasAddGrad",
      {"BiasAddGrad NHWC",
       {TensorShape({2, 2, 3})},
       [](const Scope& s, const Xs& x) { return ops::BiasAddGrad(s, x[0]); }});
  add("BiasAddGrad", {"BiasAddGrad NCHW",
                      {TensorShape({2, 3, 2})},
                      [](const Scope& s, const Xs& x) {
                        return ops::BiasAddGrad(
                            s, x[0], ops::BiasAddGrad::DataFormat("NCHW"));
                      }});
  // FusedBatchNormV3 has no float64 kernel (as in TensorFlow): checked in
  // float32 between casts, with a larger step.
  for (bool training : {true, false}) {
    for (const char* format : {"NHWC", "NCHW"}) {
      const bool nchw = format[1] == 'C';
      Check c;
      c.name = absl::StrCat("FusedBatchNormV3 ", format,
                            training ? " training" : " inference");
      c.shapes = {nchw ? TensorShape({2, 3, 2, 2}) : TensorShape({2, 2, 2, 3}),
                  TensorShape({3}), TensorShape({3})};
      c.signed_values = true;
      c.delta = 1e-3;
      c.tolerance = 2e-3;
      c.build = [training, format](const Scope& s, const Xs& x) {
        auto f = [&s](Output v) { return ops::Cast(s, v, DT_FLOAT); };
        auto bn = ops::FusedBatchNormV3(
            s, f(x[0]), f(x[1]), f(x[2]), ops::Const(s, {0.1f, -0.2f, 0.3f}),
            ops::Const(s, {0.5f, 1.5f, 2.0f}),
            ops::FusedBatchNormV3::DataFormat(format).IsTraining(training));
        return ops::Cast(s, bn.y, DT_DOUBLE);
      };
      add("FusedBatchNormV3", c);
    }
  }
  add("Conv2D", {"Conv2D SAME stride 2",
                 {TensorShape({2, 5, 4, 2}), TensorShape({3, 2, 2, 3})},
                 [](const Scope& s, const Xs& x) {
                   return ops::Conv2D(s, x[0], x[1], {1, 2, 2, 1}, "SAME");
                 },
                 0.2,
                 true});
  add("Conv2D", {"Conv2D VALID",
                 {TensorShape({1, 4, 4, 1}), TensorShape({2, 2, 1, 2})},
                 [](const Scope& s, const Xs& x) {
                   return ops::Conv2D(s, x[0], x[1], {1, 1, 1, 1}, "VALID");
                 },
                 0.2,
                 true});
  add("Conv2DBackpropInput",
      {"Conv2DBackpropInput",
       {TensorShape({2, 2, 1, 2}), TensorShape({1, 2, 2, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::Conv2DBackpropInput(s, ops::Const(s, {1, 3, 3, 1}), x[0],
                                         x[1], {1, 1, 1, 1}, "VALID");
       },
       0.2,
       true});
  add("Conv2DBackpropFilter",
      {"Conv2DBackpropFilter",
       {TensorShape({1, 3, 3, 1}), TensorShape({1, 2, 2, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::Conv2DBackpropFilter(s, x[0], ops::Const(s, {2, 2, 1, 2}),
                                          x[1], {1, 1, 1, 1}, "VALID");
       },
       0.2,
       true});
  add("MaxPool",
      {"MaxPool SAME",
       {TensorShape({1, 4, 3, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::MaxPool(s, x[0], {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
       },
       0.2,
       true});
  add("AvgPool",
      {"AvgPool SAME overlapping",
       {TensorShape({1, 4, 3, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::AvgPool(s, x[0], {1, 3, 3, 1}, {1, 2, 1, 1}, "SAME");
       }});
  add("AvgPoolGrad", {"AvgPoolGrad",
                      {TensorShape({1, 2, 2, 1})},
                      [](const Scope& s, const Xs& x) {
                        return ops::AvgPoolGrad(s, ops::Const(s, {1, 3, 3, 1}),
                                                x[0], {1, 2, 2, 1},
                                                {1, 1, 1, 1}, "VALID");
                      }});

  // Array ops.
  add("Identity",
      {"Identity", {TensorShape({3})}, [](const Scope& s, const Xs& x) {
         return ops::Identity(s, x[0]);
       }});
  add("PlaceholderWithDefault", {"PlaceholderWithDefault",
                                 {TensorShape({3})},
                                 [](const Scope& s, const Xs& x) {
                                   return ops::PlaceholderWithDefault(
                                       s, x[0], PartialTensorShape({3}));
                                 }});
  add("IdentityN", {"IdentityN second output",
                    {TensorShape({2}), TensorShape({3})},
                    [](const Scope& s, const Xs& x) {
                      return ops::IdentityN(s, {x[0], x[1]}).output[1];
                    }});
  add("Reshape",
      {"Reshape", {TensorShape({2, 3})}, [](const Scope& s, const Xs& x) {
         return ops::Reshape(s, x[0], {3, -1});
       }});
  add("ExpandDims",
      {"ExpandDims", {TensorShape({2, 3})}, [](const Scope& s, const Xs& x) {
         return ops::ExpandDims(s, x[0], -1);
       }});
  add("Squeeze",
      {"Squeeze", {TensorShape({2, 1, 3})}, [](const Scope& s, const Xs& x) {
         return ops::Squeeze(s, x[0]);
       }});
  add("Transpose",
      {"Transpose", {TensorShape({2, 3, 2})}, [](const Scope& s, const Xs& x) {
         return ops::Transpose(s, x[0], {2, 0, 1});
       }});
  add("ConcatV2", {"ConcatV2 on axis -1",
                   {TensorShape({2, 1}), TensorShape({2, 3})},
                   [](const Scope& s, const Xs& x) {
                     return ops::ConcatV2(s, {x[0], x[1], x[0]}, -1);
                   }});
  add("Pack", {"Pack on axis 1",
               {TensorShape({2}), TensorShape({2})},
               [](const Scope& s, const Xs& x) {
                 return ops::Pack(s, {x[0], x[1]}, ops::Pack::Axis(1));
               }});
  add("Unpack",
      {"Unpack, one piece used",
       {TensorShape({3, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::Unpack(s, x[0], 2, ops::Unpack::Axis(1)).output[1];
       }});
  add("Split", {"Split, one piece used",
                {TensorShape({2, 4})},
                [](const Scope& s, const Xs& x) {
                  return ops::Split(s, 1, x[0], 2).output[1];
                }});
  add("SplitV",
      {"SplitV", {TensorShape({5, 2})}, [](const Scope& s, const Xs& x) {
         auto parts = ops::SplitV(s, x[0], {2, 3}, 0, 2);
         return ops::Sum(s, parts.output[1], {0});
       }});
  add("Slice",
      {"Slice", {TensorShape({3, 4})}, [](const Scope& s, const Xs& x) {
         return ops::Slice(s, x[0], {1, 1}, {2, -1});
       }});
  add("StridedSlice", {"StridedSlice reversed, strided, shrunk",
                       {TensorShape({3, 5})},
                       [](const Scope& s, const Xs& x) {
                         return ops::StridedSlice(
                             s, x[0], {1, -1}, {2, 0}, {1, -2},
                             ops::StridedSlice::ShrinkAxisMask(1).EndMask(2));
                       }});
  add("StridedSliceGrad",
      {"StridedSliceGrad", {TensorShape({2})}, [](const Scope& s, const Xs& x) {
         return ops::StridedSliceGrad(s, ops::Const(s, {5}), ops::Const(s, {0}),
                                      ops::Const(s, {4}), ops::Const(s, {2}),
                                      x[0]);
       }});
  add("Pad", {"Pad", {TensorShape({2, 2})}, [](const Scope& s, const Xs& x) {
                return ops::Pad(s, x[0], ops::Const(s, {{1, 0}, {2, 1}}));
              }});
  add("Tile", {"Tile", {TensorShape({2, 3})}, [](const Scope& s, const Xs& x) {
                 return ops::Tile(s, x[0], {2, 2});
               }});
  add("BroadcastTo",
      {"BroadcastTo", {TensorShape({3, 1})}, [](const Scope& s, const Xs& x) {
         return ops::BroadcastTo(s, x[0], {2, 3, 2});
       }});
  add("Fill", {"Fill", {TensorShape({})}, [](const Scope& s, const Xs& x) {
                 return ops::Fill(s, {2, 3}, x[0]);
               }});
  add("Gather", {"Gather with repeated indices",
                 {TensorShape({4, 2})},
                 [](const Scope& s, const Xs& x) {
                   return ops::Gather(s, x[0], ops::Const(s, {3, 0, 3}));
                 }});
  add("GatherV2",
      {"GatherV2 on axis 1, 2-D indices",
       {TensorShape({2, 4, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::GatherV2(s, x[0], ops::Const(s, {{1, 3}, {1, 0}}), 1);
       }});
  add("DynamicStitch",
      {"DynamicStitch",
       {TensorShape({2}), TensorShape({2, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::DynamicStitch(
             s, {ops::Const(s, {0, 3}), ops::Const(s, {{1, 2}, {4, 5}})},
             {x[0], x[1]});
       }});
  add("ParallelDynamicStitch",
      {"ParallelDynamicStitch",
       {TensorShape({2}), TensorShape({2, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::ParallelDynamicStitch(
             s, {ops::Const(s, {0, 3}), ops::Const(s, {{1, 2}, {4, 5}})},
             {x[0], x[1]});
       }});
  add("DynamicPartition",
      {"DynamicPartition of rows, both partitions used",
       {TensorShape({4, 2})},
       [](const Scope& s, const Xs& x) {
         auto parts =
             ops::DynamicPartition(s, x[0], ops::Const(s, {1, 0, 1, 1}), 2);
         // Weighted differently, so a row sent back to the wrong place
         // shows.
         return ops::ConcatV2(
             s, {ops::Mul(s, parts.outputs[0], 3.0), parts.outputs[1]}, 0);
       }});
  // Sorted segments with segment 1 empty; unsorted ones dropping a row.
  for (const char* op :
       {"SegmentSum", "SegmentMean", "SegmentMax", "SegmentMin"}) {
    add(op, {absl::StrCat(op, " with an empty segment"),
             {TensorShape({4, 2})},
             [op = std::string(op)](const Scope& s, const Xs& x) -> Output {
               auto ids = ops::Const(s, {0, 0, 2, 2});
               if (op == "SegmentSum") return ops::SegmentSum(s, x[0], ids);
               if (op == "SegmentMean") return ops::SegmentMean(s, x[0], ids);
               if (op == "SegmentMax") return ops::SegmentMax(s, x[0], ids);
               return ops::SegmentMin(s, x[0], ids);
             },
             0.2,
             true});
  }
  add("UnsortedSegmentMax", {"UnsortedSegmentMax dropping a row",
                             {TensorShape({4, 2})},
                             [](const Scope& s, const Xs& x) {
                               return ops::UnsortedSegmentMax(
                                   s, x[0], ops::Const(s, {1, -1, 1, 0}), 2);
                             },
                             0.2,
                             true});
  add("UnsortedSegmentMin", {"UnsortedSegmentMin dropping a row",
                             {TensorShape({4, 2})},
                             [](const Scope& s, const Xs& x) {
                               return ops::UnsortedSegmentMin(
                                   s, x[0], ops::Const(s, {1, -1, 1, 0}), 2);
                             },
                             0.2,
                             true});
  add("UnsortedSegmentProd", {"UnsortedSegmentProd dropping a row",
                              {TensorShape({4, 2})},
                              [](const Scope& s, const Xs& x) {
                                return ops::UnsortedSegmentProd(
                                    s, x[0], ops::Const(s, {1, -1, 1, 0}), 2);
                              }});
  add("UnsortedSegmentProd",
      {"UnsortedSegmentProd over a segment holding one zero",
       {TensorShape({4, 2})},
       [](const Scope& s, const Xs& x) {
         auto mask =
             ops::Const(s, {{1.0, 1.0}, {0.0, 1.0}, {1.0, 1.0}, {1.0, 1.0}});
         return ops::UnsortedSegmentProd(s, ops::Mul(s, x[0], mask),
                                         ops::Const(s, {1, 1, 1, 0}), 2);
       }});
  // TensorArrays: each op's gradient is the opposite op on the gradient
  // array. Element 0 is read twice (its gradient writes add up); one
  // element is never read back (its gradient is zeros).
  const Check write_read = {
      "TensorArray Write and Read, an element read twice",
      {TensorShape({2}), TensorShape({2})},
      [](const Scope& s, const Xs& x) {
        auto a = ops::TensorArrayV3(s, ops::Const(s, 3), DT_DOUBLE,
                                    ops::TensorArrayV3::ClearAfterRead(false));
        Output f = ops::TensorArrayWriteV3(s, a.handle, 0, x[0], a.flow);
        f = ops::TensorArrayWriteV3(s, a.handle, 1, x[1], f);
        f = ops::TensorArrayWriteV3(s, a.handle, 2, x[1], f);
        auto read = [&](int i) {
          return ops::TensorArrayReadV3(s, a.handle, i, f, DT_DOUBLE);
        };
        return ops::Add(s, ops::Mul(s, read(0), read(0)),
                        ops::Tanh(s, read(1)));
      }};
  add("TensorArrayWriteV3", write_read);
  add("TensorArrayReadV3", write_read);
  const Check scatter_gather = {
      "TensorArray Scatter and Gather, a row not gathered",
      {TensorShape({3, 2})},
      [](const Scope& s, const Xs& x) {
        auto a = ops::TensorArrayV3(s, ops::Const(s, 3), DT_DOUBLE);
        Output f = ops::TensorArrayScatterV3(
            s, a.handle, ops::Const(s, {2, 0, 1}), x[0], a.flow);
        return ops::Square(
            s, ops::TensorArrayGatherV3(s, a.handle, ops::Const(s, {1, 2}), f,
                                        DT_DOUBLE));
      }};
  add("TensorArrayScatterV3", scatter_gather);
  add("TensorArrayGatherV3", scatter_gather);
  const Check split_concat = {
      "TensorArray Split and Concat, pieces of different lengths",
      {TensorShape({5, 2})},
      [](const Scope& s, const Xs& x) {
        auto a = ops::TensorArrayV3(s, ops::Const(s, 3), DT_DOUBLE);
        Output f = ops::TensorArraySplitV3(
            s, a.handle, x[0],
            ops::Const(s, {int64_t{2}, int64_t{0}, int64_t{3}}), a.flow);
        return ops::Square(
            s, ops::TensorArrayConcatV3(s, a.handle, f, DT_DOUBLE).value);
      }};
  add("TensorArraySplitV3", split_concat);
  add("TensorArrayConcatV3", split_concat);
  add("GatherNd",
      {"GatherNd rows and an element, one twice",
       {TensorShape({3, 2})},
       [](const Scope& s, const Xs& x) {
         return ops::GatherNd(s, x[0], ops::Const(s, {{2, 1}, {0, 0}, {2, 1}}));
       }});
  add("ScatterNd", {"ScatterNd with a duplicate index",
                    {TensorShape({3, 2})},
                    [](const Scope& s, const Xs& x) {
                      return ops::ScatterNd(s, ops::Const(s, {{1}, {3}, {1}}),
                                            x[0], ops::Const(s, {4, 2}));
                    }});
  for (bool adjoint_a : {false, true}) {
    for (bool adjoint_b : {false, true}) {
      add("SparseTensorDenseMatMul",
          {absl::StrCat("SparseTensorDenseMatMul adjoint_a ", adjoint_a,
                        " adjoint_b ", adjoint_b),
           {TensorShape({3}), TensorShape({3, 2})},
           [adjoint_a, adjoint_b](const Scope& s, const Xs& x) {
             auto b =
                 adjoint_b ? Output(ops::Transpose(s, x[1], {1, 0})) : x[1];
             return ops::SparseTensorDenseMatMul(
                 s,
                 ops::Const(s, {{int64_t{0}, int64_t{1}},
                                {int64_t{2}, int64_t{0}},
                                {int64_t{1}, int64_t{2}}}),
                 x[0], ops::Const(s, {int64_t{3}, int64_t{3}}), b,
                 ops::SparseTensorDenseMatMul::AdjointA(adjoint_a).AdjointB(
                     adjoint_b));
           },
           0.2,
           true});
    }
  }
  add("SparseToDense", {"SparseToDense values and default",
                        {TensorShape({3}), TensorShape({})},
                        [](const Scope& s, const Xs& x) {
                          return ops::SparseToDense(
                              s, ops::Const(s, {{0, 1}, {1, 0}, {2, 2}}),
                              ops::Const(s, {3, 3}), x[0], x[1]);
                        }});
  add("SparseToDense", {"SparseToDense one value for all",
                        {TensorShape({}), TensorShape({})},
                        [](const Scope& s, const Xs& x) {
                          return ops::SparseToDense(s, ops::Const(s, {1, 3}),
                                                    ops::Const(s, {4}), x[0],
                                                    x[1]);
                        }});
  add("TopKV2", {"TopKV2 of rows",
                 {TensorShape({2, 4})},
                 [](const Scope& s, const Xs& x) {
                   return ops::TopKV2(s, x[0], 2).values;
                 },
                 0.2,
                 true});
  add("UnsortedSegmentSum", {"UnsortedSegmentSum dropping a row",
                             {TensorShape({4, 2})},
                             [](const Scope& s, const Xs& x) {
                               return ops::UnsortedSegmentSum(
                                   s, x[0], ops::Const(s, {2, -1, 0, 2}), 3);
                             }});
  // Linear algebra.
  auto einsum = [&](const std::string& equation,
                    std::vector<TensorShape> shapes) {
    add("Einsum", {absl::StrCat("Einsum ", equation), std::move(shapes),
                   [equation](const Scope& s, const Xs& x) {
                     return ops::Einsum(s, InputList(x), equation);
                   },
                   0.2, true});
  };
  einsum("ij,jk->ik", {TensorShape({2, 3}), TensorShape({3, 2})});
  einsum("ij,bkj->bki", {TensorShape({2, 3}), TensorShape({2, 2, 3})});
  einsum("...ij,jk->...ik", {TensorShape({2, 2, 3}), TensorShape({3, 2})});
  einsum("...ij,...jk->...ik",
         {TensorShape({1, 2, 3}), TensorShape({2, 3, 2})});
  einsum("ij,k->ik", {TensorShape({2, 3}), TensorShape({4})});
  einsum("ij->j", {TensorShape({2, 3})});
  einsum("ij->ji", {TensorShape({2, 3})});
  // Well-conditioned square matrices: x + 3 I.
  auto conditioned = [](const Scope& s, const Output& x, int n) {
    return ops::Add(
        s, x,
        ops::Cast(
            s, ops::MatrixDiagV3(s, ops::Fill(s, {n}, 3.0f), 0, -1, -1, 0.0f),
            DT_DOUBLE));
  };
  for (bool adjoint : {false, true}) {
    add("MatrixInverse", {absl::StrCat("MatrixInverse adjoint ", adjoint),
                          {TensorShape({2, 3, 3})},
                          [=](const Scope& s, const Xs& x) {
                            return ops::MatrixInverse(
                                s, conditioned(s, x[0], 3),
                                ops::MatrixInverse::Adjoint(adjoint));
                          },
                          0.2,
                          true});
  }
  add("MatrixDeterminant", {"MatrixDeterminant of a batch",
                            {TensorShape({2, 3, 3})},
                            [=](const Scope& s, const Xs& x) {
                              return ops::MatrixDeterminant(
                                  s, conditioned(s, x[0], 3));
                            },
                            0.2,
                            true});
  add("MatrixDiagV3",
      {"MatrixDiagV3 of three diagonals",
       {TensorShape({2, 3, 4})},
       [](const Scope& s, const Xs& x) {
         return ops::MatrixDiagV3(s, x[0], ops::Const(s, {-1, 1}), -1, -1, 0.0);
       }});
  add("MatrixDiagPartV3", {"MatrixDiagPartV3 of a band, left aligned",
                           {TensorShape({3, 4})},
                           [](const Scope& s, const Xs& x) {
                             return ops::MatrixDiagPartV3(
                                 s, x[0], ops::Const(s, {-1, 2}), 0.5,
                                 ops::MatrixDiagPartV3::Align("LEFT_LEFT"));
                           }});
  add("MatrixSetDiagV3", {"MatrixSetDiagV3 of the main diagonal",
                          {TensorShape({3, 3}), TensorShape({3})},
                          [](const Scope& s, const Xs& x) {
                            return ops::MatrixSetDiagV3(s, x[0], x[1], 0);
                          }});
  return m;
}

TEST(GradientsTest, EveryKernelHasAGradientOrIsDeclaredWithout) {
  const auto differentiable = GradOpRegistry::Global()->Differentiable();
  const auto not_differentiable = GradOpRegistry::Global()->NotDifferentiable();
  for (const std::string& op : KernelRegistry::Global()->Ops()) {
    const bool has =
        std::binary_search(differentiable.begin(), differentiable.end(), op) ||
        std::binary_search(not_differentiable.begin(), not_differentiable.end(),
                           op);
    EXPECT_TRUE(has) << op << " has a kernel but neither a gradient nor a "
                     << "declaration that none flows";
  }
}

// The functional control-flow ops: their gradients refuse, like Switch's
// (TensorFlow-written graphs run them: tests/e2e/tf_graphs_test).
const absl::flat_hash_set<std::string> kFunctional = {
    "If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall",
    "StatefulPartitionedCall",
    // The ref forms of the loop and cond ops refuse as Enter, Exit,
    // NextIteration, Switch and Merge do (tested below).
    "RefEnter", "RefExit", "RefNextIteration", "RefSwitch", "RefMerge"};

// Gradients that exist to say clearly that they are not implemented.
const std::map<std::string, std::string>& Refusals() {
  static const auto* m = new std::map<std::string, std::string>{
      {"MaxPoolGrad", "second derivative of MaxPool"},
      {"FusedBatchNormGradV3", "second derivative of FusedBatchNormV3"},
      {"Switch", "gradients through Switch"},
      {"Merge", "gradients through Merge"},
      {"Enter", "gradients through Enter"},
      {"Exit", "gradients through Exit"},
      {"NextIteration", "gradients through NextIteration"},
      {"PreventGradient", "through PreventGradient node"},
      {"TensorListStack", "does not differentiate through lists"},
      {"TensorListFromTensor", "does not differentiate through lists"},
      {"TensorListPushBack", "does not differentiate through lists"},
      {"TensorListPopBack", "does not differentiate through lists"},
      {"TensorListSetItem", "does not differentiate through lists"},
      {"TensorListGetItem", "does not differentiate through lists"},
      {"TensorListGather", "does not differentiate through lists"},
      {"TensorListScatterIntoExistingList",
       "does not differentiate through lists"},
      {"TensorListResize", "does not differentiate through lists"},
      {"OptionalFromValue", "does not differentiate through lists"},
      {"OptionalGetValue", "does not differentiate through lists"},
  };
  return *m;
}

TEST(GradientsTest, EveryGradientPassesTheNumericalCheck) {
  const auto checks = Checks();
  int checked = 0;
  for (const std::string& op : GradOpRegistry::Global()->Differentiable()) {
    if (Refusals().contains(op) || kFunctional.contains(op) ||
        op == "ReadVariableOp" || op == "ResourceGather") {
      continue;  // Tested below.
    }
    auto it = checks.find(op);
    if (it == checks.end()) {
      ADD_FAILURE() << "the gradient of " << op << " has no numerical check";
      continue;
    }
    for (const Check& c : it->second) {
      Scope root = Scope::NewRootScope();
      Xs xs;
      std::vector<Tensor> values;
      for (size_t i = 0; i < c.shapes.size(); ++i) {
        xs.push_back(
            ops::Placeholder(root.WithOpName(absl::StrCat("x", i)), DT_DOUBLE));
        values.push_back(Values(c.shapes[i], static_cast<int>(i), c));
      }
      Output y = c.build(root, xs);
      EXPECT_TRUE(root.ok()) << c.name << ": " << root.status();
      absl::StatusOr<double> err =
          MaxGradientError(root, xs, values, y, c.delta);
      EXPECT_TRUE(err.ok()) << c.name << ": " << err.status();
      if (err.ok()) {
        EXPECT_LE(*err, c.tolerance) << c.name;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 90);
}

TEST(GradientsTest, EinsumGradientsRefuseDiagonals) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_DOUBLE);
  auto y = ops::Einsum(root.WithOpName("trace"), {x}, "ii->");
  ASSERT_TRUE(root.ok()) << root.status();
  std::vector<Output> grads;
  absl::Status s = AddSymbolicGradients(root, {y}, {x}, &grads);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_NE(s.message().find("repeated subscript"), std::string::npos) << s;
  EXPECT_NE(s.message().find("trace"), std::string::npos) << s;
}

TEST(GradientsTest, RefusalsNameTheOpAndNode) {
  for (const auto& [op, needle] : Refusals()) {
    Scope root = Scope::NewRootScope();
    auto x = ops::Placeholder(root.WithOpName("x"), DT_DOUBLE);
    Output y;
    if (op == "MaxPoolGrad") {
      auto image = ops::Fill(root, {1, 2, 2, 1}, 1.0);
      y = ops::MaxPoolGrad(root, image, ops::Fill(root, {1, 1, 1, 1}, 1.0),
                           ops::Reshape(root, x, {1, 1, 1, 1}), {1, 2, 2, 1},
                           {1, 1, 1, 1}, "VALID");
    } else if (op == "FusedBatchNormGradV3") {
      auto image =
          ops::Cast(root, ops::Reshape(root, x, {1, 1, 1, 1}), DT_FLOAT);
      auto one = ops::Const(root, {1.0f});
      auto grad =
          ops::FusedBatchNormGradV3(root, image, image, one, one, one, one);
      y = ops::Cast(root, grad.x_backprop, DT_DOUBLE);
    } else if (op == "Switch") {
      y = ops::Switch(root, x, true).output_true;
    } else if (op == "Merge") {
      y = ops::Merge(root, {x, x}).output;
    } else if (op == "Enter") {
      y = ops::Enter(root, x, "loop");
    } else if (op == "Exit") {
      y = ops::Exit(root, x);
    } else if (op == "NextIteration") {
      y = ops::NextIteration(root, x);
    } else if (absl::StartsWith(op, "TensorList")) {
      // A list made from x, changed by `op`, read back as a tensor.
      auto shape = ops::Const(root, -1);
      Output list = ops::TensorListFromTensor(
          root, ops::Reshape(root, x, {1, -1}), shape);
      auto index = ops::Const(root, 0);
      if (op == "TensorListPushBack") {
        list = ops::TensorListPushBack(root, list, ops::Reshape(root, x, {-1}));
      } else if (op == "TensorListPopBack") {
        list = ops::TensorListPushBack(
            root,
            ops::TensorListPopBack(root, list, shape, DT_DOUBLE).output_handle,
            ops::Reshape(root, x, {-1}));
      } else if (op == "TensorListSetItem") {
        list = ops::TensorListSetItem(root, list, index,
                                      ops::Reshape(root, x, {-1}));
      } else if (op == "TensorListScatterIntoExistingList") {
        list = ops::TensorListScatterIntoExistingList(
            root, list, ops::Reshape(root, x, {1, -1}), ops::Const(root, {0}));
      } else if (op == "TensorListResize") {
        list = ops::TensorListResize(root, list, 1);
      }
      if (op == "TensorListGetItem") {
        y = ops::TensorListGetItem(root, list, index, shape, DT_DOUBLE);
      } else if (op == "TensorListGather") {
        y = ops::TensorListGather(root, list, ops::Const(root, {0}), shape,
                                  DT_DOUBLE);
      } else {
        y = ops::TensorListStack(root, list, shape, DT_DOUBLE);
      }
    } else if (absl::StartsWith(op, "Optional")) {
      y = ops::OptionalGetValue(root, ops::OptionalFromValue(root, {x}),
                                {DT_DOUBLE}, {PartialTensorShape()})
              .components[0];
    } else {
      y = ops::PreventGradient(root, x);
    }
    ASSERT_TRUE(root.ok()) << op << ": " << root.status();
    std::vector<Output> grads;
    absl::Status s = AddSymbolicGradients(root, {y}, {x}, &grads);
    EXPECT_FALSE(s.ok()) << op;
    EXPECT_NE(s.ToString().find(needle), std::string::npos) << s;
  }
}

// Runs the graph of `scope` and returns the fetched tensors.
std::vector<Tensor> RunGraph(
    const Scope& scope, const std::vector<std::string>& fetches,
    const std::vector<std::pair<std::string, Tensor>>& feeds = {},
    const std::vector<std::string>& init = {}) {
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(scope.ToGraphDef(&def).ok()) << scope.status();
  auto session = Session::Create(def);
  EXPECT_TRUE(session.ok()) << session.status();
  if (!init.empty()) {
    auto done = (*session)->Run(feeds, {}, init);
    EXPECT_TRUE(done.ok()) << done.status();
  }
  auto got = (*session)->Run(feeds, fetches, {});
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() ? *got : std::vector<Tensor>();
}

TEST(GradientsTest, ResourceReadsAndGathersSendTheGradientToTheHandle) {
  Scope root = Scope::NewRootScope();
  auto v = ops::VarHandleOp(root.WithOpName("v"), DT_DOUBLE,
                            PartialTensorShape({3, 2}));
  ops::AssignVariableOp(root.WithOpName("init"), v,
                        ops::Const(root, {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}));
  // loss = sum(read^2) + sum(gather(v, [2, 2, 0]))
  auto read = ops::ReadVariableOp(root, v, DT_DOUBLE);
  auto rows =
      ops::ResourceGather(root, v, ops::Const(root, {2, 2, 0}), DT_DOUBLE);
  auto loss = ops::AddV2(root, ops::Sum(root, ops::Square(root, read), {0, 1}),
                         ops::Sum(root, rows, {0, 1}));
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, {v}, &grads).ok())
      << root.status();
  ops::Identity(root.WithOpName("dv"), grads[0]);
  auto got = RunGraph(root, {"dv"}, {}, {"init"});
  ASSERT_EQ(got.size(), 1u);
  // 2 * v, plus 1 for row 0 and 2 for row 2.
  EXPECT_TRUE(got[0].Equals(
      Tensor::FromVector<double>({3, 5, 6, 8, 12, 14}, TensorShape({3, 2}))))
      << got[0].DebugString();
}

TEST(GradientsTest, SumsOverConsumersAndHandlesUnconnectedInputs) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto unused = ops::Placeholder(root.WithOpName("unused"), DT_FLOAT);
  // y = x*x + 3x, consumed twice: dy/dx = 2x + 3.
  auto y = ops::AddV2(root, ops::Mul(root, x, x), ops::Mul(root, x, 3.0f));
  std::vector<Output> zero, none;
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x, unused}, &zero).ok());
  ASSERT_TRUE(AddSymbolicGradients(root, {y}, {x, unused}, &none,
                                   UnconnectedGradients::kNone)
                  .ok());
  EXPECT_EQ(none[1].node(), nullptr);
  ASSERT_NE(zero[1].node(), nullptr);
  ops::Identity(root.WithOpName("dx"), zero[0]);
  ops::Identity(root.WithOpName("dunused"), zero[1]);
  auto got =
      RunGraph(root, {"dx", "dunused"},
               {{"x", Tensor::FromVector<float>({1, 2}, TensorShape({2}))},
                {"unused", Tensor::Scalar<float>(7)}});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(
      got[0].Equals(Tensor::FromVector<float>({5, 7}, TensorShape({2}))))
      << got[0].DebugString();
  EXPECT_TRUE(got[1].Equals(Tensor::Scalar<float>(0)));
}

TEST(GradientsTest, GradientsReachVariablesAndStopAtStopGradient) {
  Scope root = Scope::NewRootScope();
  auto w =
      ops::VariableV2(root.WithOpName("w"), PartialTensorShape({2}), DT_FLOAT);
  ops::Assign(root.WithOpName("init"), w, {1.0f, -2.0f});
  // loss = sum(w * stop(w)): d/dw = stop(w) = w.
  auto loss =
      ops::Sum(root, ops::Mul(root, w, ops::StopGradient(root, w)), {0});
  std::vector<Output> grads;
  ASSERT_TRUE(AddSymbolicGradients(root, {loss}, {w}, &grads).ok());
  ops::Identity(root.WithOpName("dw"), grads[0]);
  auto got = RunGraph(root, {"dw"}, {}, {"init"});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(
      got[0].Equals(Tensor::FromVector<float>({1, -2}, TensorShape({2}))));
}

TEST(GradientsTest, BadRequestsAreClearErrors) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Square(root, x);
  std::vector<Output> grads;
  absl::Status s =
      AddSymbolicGradients(root, {y}, {x}, {ops::Const(root, 1.0)}, &grads);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(
                "Square:0 is float but its grad_input Const:0 is double"),
            std::string::npos)
      << s;

  Scope other = Scope::NewRootScope();
  auto a = ops::Placeholder(other.WithOpName("a"), DT_FLOAT);
  s = AddSymbolicGradients(other, {ops::Square(other, a)}, {a}, {}, &grads);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("1 outputs but 0 grad_inputs"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace rill
