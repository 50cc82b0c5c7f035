// Element-wise math kernels on the op harness, checked against values
// known in closed form.
#include <cmath>

#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

TEST(CwiseOpsTest, TrigonometricAndHyperbolicFunctions) {
  const float pi = 3.14159265358979f;
  const float ln2 = 0.69314718f;
  auto one = [](std::function<Output(const Scope&, Output)> f, float x) {
    return [f, x](const Scope& s) { return f(s, ops::Const(s, {x})); };
  };
  RunCases({
      {"Sin(pi/6)",
       one([](const Scope& s, Output x) { return ops::Sin(s, x); }, pi / 6),
       F({0.5f}, {1})},
      {"Cos(pi/3)",
       one([](const Scope& s, Output x) { return ops::Cos(s, x); }, pi / 3),
       F({0.5f}, {1})},
      {"Tan(pi/4)",
       one([](const Scope& s, Output x) { return ops::Tan(s, x); }, pi / 4),
       F({1}, {1})},
      {"Asin(1)",
       one([](const Scope& s, Output x) { return ops::Asin(s, x); }, 1),
       F({pi / 2}, {1})},
      {"Acos(0.5)",
       one([](const Scope& s, Output x) { return ops::Acos(s, x); }, 0.5f),
       F({pi / 3}, {1})},
      {"Atan(1)",
       one([](const Scope& s, Output x) { return ops::Atan(s, x); }, 1),
       F({pi / 4}, {1})},
      {"Sinh(ln 2)",
       one([](const Scope& s, Output x) { return ops::Sinh(s, x); }, ln2),
       F({0.75f}, {1})},
      {"Cosh(ln 2)",
       one([](const Scope& s, Output x) { return ops::Cosh(s, x); }, ln2),
       F({1.25f}, {1})},
      {"Asinh(0.75)",
       one([](const Scope& s, Output x) { return ops::Asinh(s, x); }, 0.75f),
       F({ln2}, {1})},
      {"Acosh(1.25)",
       one([](const Scope& s, Output x) { return ops::Acosh(s, x); }, 1.25f),
       F({ln2}, {1})},
      {"Atanh(0.6)",
       one([](const Scope& s, Output x) { return ops::Atanh(s, x); }, 0.6f),
       F({ln2}, {1})},
      {"Expm1(ln 2)",
       one([](const Scope& s, Output x) { return ops::Expm1(s, x); }, ln2),
       F({1}, {1})},
      {"Inv(4)",
       one([](const Scope& s, Output x) { return ops::Inv(s, x); }, 4),
       F({0.25f}, {1})},
  });
}

TEST(CwiseOpsTest, OutsideTheDomainIsNan) {
  // As TensorFlow: asin(2) and acosh(0) are NaN, not errors.
  Scope root = Scope::NewRootScope();
  ops::Identity(root.WithOpName("a"), ops::Asin(root, ops::Const(root, 2.0f)));
  ops::Identity(root.WithOpName("b"), ops::Acosh(root, ops::Const(root, 0.0f)));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  auto got = (*session)->Run({}, {"a", "b"}, {});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(std::isnan((*got)[0].scalar<float>()));
  EXPECT_TRUE(std::isnan((*got)[1].scalar<float>()));
}

}  // namespace
}  // namespace rill
