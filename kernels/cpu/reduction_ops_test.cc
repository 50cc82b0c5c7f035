// Reductions on the op harness: over some or all axes, negative axes,
// keep_dims, the logical ones, sparse segments, and an Assert that holds.
#include <cmath>
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

TEST(ReductionOpsTest, SparseSegmentsAndTheirGradients) {
  // Rows 0, 2, 2, 3 of data into segments 0, 0, 2, 2 (segment 1 empty).
  const auto data = [](const Scope& s) {
    return ops::Const(s,
                      {{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}, {7.0f, 8.0f}});
  };
  const auto indices = [](const Scope& s) {
    return ops::Const(s, {0, 2, 2, 3});
  };
  const auto ids = [](const Scope& s) { return ops::Const(s, {0, 0, 2, 2}); };
  RunCases({
      {"SparseSegmentSum",
       [&](const Scope& s) {
         return ops::SparseSegmentSum(s, data(s), indices(s), ids(s));
       },
       F({6, 8, 0, 0, 12, 14}, {3, 2})},
      {"SparseSegmentMean",
       [&](const Scope& s) {
         return ops::SparseSegmentMean(s, data(s), indices(s), ids(s));
       },
       F({3, 4, 0, 0, 6, 7}, {3, 2})},
      {"SparseSegmentSqrtN",
       [&](const Scope& s) {
         return ops::SparseSegmentSqrtN(s, data(s), indices(s), ids(s));
       },
       F({6 / std::sqrt(2.0f), 8 / std::sqrt(2.0f), 0, 0, 12 / std::sqrt(2.0f),
          14 / std::sqrt(2.0f)},
         {3, 2})},
      {"SparseSegmentMeanGrad sends halves back to rows 0, 2 (twice), 3",
       [&](const Scope& s) {
         return ops::SparseSegmentMeanGrad(
             s, ops::Const(s, {{2.0f, 4.0f}, {9.0f, 9.0f}, {6.0f, 8.0f}}),
             indices(s), ids(s), 5);
       },
       F({1, 2, 0, 0, 4, 6, 3, 4, 0, 0}, {5, 2})},
      {"SparseSegmentMeanGradV2 gives the rows of indices 0, 2, 3 only",
       [&](const Scope& s) {
         auto g = ops::SparseSegmentMeanGradV2(
             s, ops::Const(s, {{2.0f, 4.0f}, {9.0f, 9.0f}, {6.0f, 8.0f}}),
             indices(s), ids(s), 5);
         return ops::ConcatV2(s,
                              {ops::Reshape(s, g.output, {-1}),
                               ops::Cast(s, g.sorted_unique_indices, DT_FLOAT)},
                              0);
       },
       F({1, 2, 4, 6, 3, 4, 0, 2, 3}, {9})},
  });
  ExpectInvalidArgument(
      [&](const Scope& s) {
        return ops::SparseSegmentSum(s, data(s), ops::Const(s, {0, 4}),
                                     ops::Const(s, {0, 1}));
      },
      "index 4 at position 1 is out of range [0, 4)");
  ExpectInvalidArgument(
      [&](const Scope& s) {
        return ops::SparseSegmentSum(s, data(s), ops::Const(s, {0, 1}),
                                     ops::Const(s, {1, 0}));
      },
      "segment_ids must be sorted and non-negative; entry 1 is 0");
  ExpectInvalidArgument(
      [&](const Scope& s) {
        return ops::SparseSegmentSum(s, data(s), ops::Const(s, {0, 1}),
                                     ops::Const(s, {0}));
      },
      "indices and segment_ids must be vectors of one length");
}

}  // namespace
}  // namespace rill
