// Sparse tensor kernels on the op harness: filling empty rows (what
// safe_embedding_lookup_sparse does first) and reshaping, with their errors.
#include <string>
#include <vector>

#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

Tensor I64(std::vector<int64_t> v, TensorShape s) {
  return Tensor::FromVector<int64_t>(v, s);
}

// Entries [2,0], [0,1], [0,0] of a 4x2 tensor: rows 1 and 3 are empty.
ops::SparseFillEmptyRows Fill(const Scope& s, Input values, Input fill) {
  return ops::SparseFillEmptyRows(
      s, ops::Const(s, I64({2, 0, 0, 1, 0, 0}, {3, 2})), values,
      ops::Const(s, I64({4, 2}, {2})), fill);
}

TEST(SparseOpsTest, FillEmptyRowsAndReshape) {
  const auto values = [](const Scope& s) {
    return ops::Const(s, {1.0f, 2.0f, 3.0f});
  };
  RunCases({
      {"entries by row, each row's in input order, defaults in empty rows",
       [&](const Scope& s) {
         return Fill(s, values(s), ops::Const(s, -1.0f)).output_values;
       },
       F({2, 3, -1, 1, -1}, {5})},
      {"the filled indices",
       [&](const Scope& s) {
         return Fill(s, values(s), ops::Const(s, -1.0f)).output_indices;
       },
       I64({0, 1, 0, 0, 1, 0, 2, 0, 3, 0}, {5, 2})},
      {"which rows were empty, and where each input entry went",
       [&](const Scope& s) {
         auto f = Fill(s, values(s), ops::Const(s, -1.0f));
         return ops::ConcatV2(s,
                              {ops::Cast(s, f.empty_row_indicator, DT_INT64),
                               f.reverse_index_map},
                              0);
       },
       I64({0, 1, 0, 1, 3, 0, 1}, {7})},
      {"string values",
       [](const Scope& s) {
         return Fill(s,
                     ops::Const(s, {std::string("c"), std::string("b"),
                                    std::string("a")}),
                     ops::Const(s, std::string("?")))
             .output_values;
       },
       S({"b", "a", "?", "c", "?"}, {5})},
      {"the gradient: values back by the map, the rest to the default",
       [](const Scope& s) {
         auto g = ops::SparseFillEmptyRowsGrad(
             s, ops::Const(s, I64({3, 0, 1}, {3})),
             ops::Const(s, {10.0f, 20.0f, 30.0f, 40.0f, 50.0f}));
         return ops::ConcatV2(
             s, {g.d_values, ops::Reshape(s, g.d_default_value, {1})}, 0);
       },
       F({40, 10, 20, 80}, {4})},
      {"GatherNd of strings (the values of a sparse string feature)",
       [](const Scope& s) {
         return ops::GatherNd(
             s,
             ops::Const(s, {{std::string("a"), std::string("b")},
                            {std::string("c"), std::string("d")}}),
             ops::Const(s, {{1, 0}, {0, 1}}));
       },
       S({"c", "b"}, {2})},
      {"SparseReshape of a 2x3 into [3, -1]",
       [](const Scope& s) {
         return ops::SparseReshape(s, ops::Const(s, I64({0, 2, 1, 1}, {2, 2})),
                                   ops::Const(s, I64({2, 3}, {2})),
                                   ops::Const(s, I64({3, -1}, {2})))
             .output_indices;
       },
       I64({1, 0, 2, 0}, {2, 2})},
  });
  ExpectInvalidArgument(
      [&](const Scope& s) {
        return ops::SparseFillEmptyRows(
                   s, ops::Const(s, I64({5, 0}, {1, 2})), ops::Const(s, {1.0f}),
                   ops::Const(s, I64({4, 2}, {2})), ops::Const(s, 0.0f))
            .output_values;
      },
      "index [5,0] of entry 0 is outside the dense shape [4,2]");
  ExpectInvalidArgument(
      [&](const Scope& s) {
        return Fill(s, ops::Const(s, {1.0f}), ops::Const(s, 0.0f))
            .output_values;
      },
      "values must be a vector of one value per index (3)");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::SparseReshape(s, ops::Const(s, I64({0, 2}, {1, 2})),
                                  ops::Const(s, I64({2, 3}, {2})),
                                  ops::Const(s, I64({4, -1}, {2})))
            .output_indices;
      },
      "a shape of 6 elements cannot be reshaped to [4,-1]");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::SparseReshape(s, ops::Const(s, I64({0, 2}, {1, 2})),
                                  ops::Const(s, I64({2, 3}, {2})),
                                  ops::Const(s, I64({-1, -1}, {2})))
            .output_indices;
      },
      "at most one -1");
}

}  // namespace
}  // namespace rill
