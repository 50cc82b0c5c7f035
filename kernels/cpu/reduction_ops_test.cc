// Reductions on the op harness: over some or all axes, negative axes,
// keep_dims, the logical ones, and an Assert that holds.
#include <string>

#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

TEST(ReductionOpsTest, ReduceOverAxes) {
  const auto flags = [](const Scope& s) {
    return ops::Const(s, {{true, false, true}, {true, true, true}});
  };
  RunCases({
      {"Sum keep_dims",
       [](const Scope& s) {
         return ops::Sum(s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}), {1},
                         ops::Sum::KeepDims(true));
       },
       F({3, 7}, {2, 1})},
      {"Mean all",
       [](const Scope& s) {
         return ops::Mean(s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 6.0f}}),
                          {0, 1});
       },
       F({3}, {})},
      {"Max negative axis",
       [](const Scope& s) {
         return ops::Max(s, ops::Const(s, {{1, 9}, {7, 3}}), {-2});
       },
       I({7, 9}, {2})},
      {"ArgMax",
       [](const Scope& s) {
         return ops::ArgMax(s, ops::Const(s, {{1.0f, 9.0f}, {7.0f, 3.0f}}), 1);
       },
       Tensor::FromVector<int64_t>({1, 0}, TensorShape({2}))},
      {"All over rows",
       [flags](const Scope& s) { return ops::All(s, flags(s), {1}); },
       Tensor::FromVector<bool>({false, true}, TensorShape({2}))},
      {"All over columns, keep_dims",
       [flags](const Scope& s) {
         return ops::All(s, flags(s), {0}, ops::All::KeepDims(true));
       },
       Tensor::FromVector<bool>({true, false, true}, TensorShape({1, 3}))},
      {"Any over everything",
       [](const Scope& s) {
         return ops::Any(s, ops::Const(s, {{false, false}, {false, true}}),
                         {0, 1});
       },
       Tensor::FromVector<bool>({true}, TensorShape({}))},
      {"Any of nothing is false; All of nothing is true",
       [](const Scope& s) {
         auto none = ops::Fill(s, {0}, false);
         return ops::Pack(s, {ops::Any(s, none, {0}), ops::All(s, none, {0})});
       },
       Tensor::FromVector<bool>({false, true}, TensorShape({2}))},
      {"an Assert that holds lets its dependents run",
       [](const Scope& s) {
         auto check = ops::Assert(s, ops::Const(s, true),
                                  {ops::Const(s, std::string("never shown"))});
         return ops::Identity(s.WithControlDependencies({check.operation}),
                              ops::Const(s, 5.0f));
       },
       F({5}, {})},
  });
}

}  // namespace
}  // namespace rill
