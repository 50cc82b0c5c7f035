#include "core/framework/strided_slice.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

PartialTensorShape Out(PartialTensorShape in, std::vector<int64_t> b,
                       std::vector<int64_t> e, std::vector<int64_t> s,
                       StridedSliceMasks m = {}) {
  auto spec = ComputeStridedSlice(in, b, e, s, m);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? spec->output_shape : PartialTensorShape();
}

TEST(StridedSliceTest, BasicRanges) {
  // x[1:3, ::2] of a [4, 6].
  EXPECT_EQ(Out({4, 6}, {1, 0}, {3, 6}, {1, 2}), PartialTensorShape({2, 3}));
  // Negative indices and clamping: x[-3:100].
  EXPECT_EQ(Out({5}, {-3}, {100}, {1}), PartialTensorShape({3}));
  // Reverse: x[::-1].
  StridedSliceMasks full;
  full.begin = full.end = 1;
  EXPECT_EQ(Out({5}, {0}, {0}, {-1}, full), PartialTensorShape({5}));
  // x[3:0:-2] -> 3, 1.
  auto spec = ComputeStridedSlice({5}, {3}, {0}, {-2}, {});
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->output_shape, PartialTensorShape({2}));
  EXPECT_EQ(spec->begin[0], 3);
  // Empty: x[4:2].
  EXPECT_EQ(Out({5}, {4}, {2}, {1}), PartialTensorShape({0}));
}

TEST(StridedSliceTest, ShrinkNewAxisAndEllipsis) {
  StridedSliceMasks shrink;
  shrink.shrink_axis = 1;  // x[1, :]
  EXPECT_EQ(Out({4, 6}, {1}, {2}, {1}, shrink), PartialTensorShape({6}));
  StridedSliceMasks new_axis;
  new_axis.new_axis = 1;  // x[tf.newaxis, ...]
  EXPECT_EQ(Out({4, 6}, {0}, {0}, {1}, new_axis),
            PartialTensorShape({1, 4, 6}));
  StridedSliceMasks ellipsis;
  ellipsis.ellipsis = 1;
  ellipsis.shrink_axis = 2;  // x[..., 0]
  EXPECT_EQ(Out({2, 3, 4}, {0, 0}, {0, 1}, {1, 1}, ellipsis),
            PartialTensorShape({2, 3}));
  StridedSliceMasks shrink_neg;
  shrink_neg.shrink_axis = 1;  // x[-1]
  EXPECT_EQ(Out({4, 6}, {-1}, {0}, {1}, shrink_neg), PartialTensorShape({6}));
}

TEST(StridedSliceTest, UnknownDims) {
  EXPECT_EQ(Out({-1, 6}, {1, 0}, {3, 6}, {1, 2}), PartialTensorShape({-1, 3}));
}

TEST(StridedSliceTest, Errors) {
  EXPECT_FALSE(ComputeStridedSlice({4}, {0}, {1}, {0}, {}).ok());
  StridedSliceMasks shrink;
  shrink.shrink_axis = 1;
  EXPECT_FALSE(ComputeStridedSlice({4}, {4}, {5}, {1}, shrink).ok());
  StridedSliceMasks two;
  two.ellipsis = 3;
  EXPECT_FALSE(ComputeStridedSlice({4}, {0, 0}, {0, 0}, {1, 1}, two).ok());
  EXPECT_FALSE(ComputeStridedSlice({4}, {0, 0}, {1, 1}, {1, 1}, {}).ok());
  EXPECT_FALSE(ComputeStridedSlice({4}, {0}, {1, 2}, {1}, {}).ok());
}

}  // namespace
}  // namespace rill
