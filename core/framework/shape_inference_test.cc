#include "core/framework/shape_inference.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

InferenceContext MakeContext(const AttrMap* attrs,
                             std::vector<PartialTensorShape> shapes,
                             std::vector<const Tensor*> tensors = {}) {
  std::vector<DataType> types(shapes.size(), ::tensorflow::DT_FLOAT);
  return InferenceContext("node", attrs, types, std::move(shapes),
                          std::move(tensors), {}, 1);
}

TEST(BroadcastShapesTest, NumpyRules) {
  auto b = [](PartialTensorShape x, PartialTensorShape y) {
    return BroadcastShapes(x, y);
  };
  EXPECT_EQ(*b({2, 1, 3}, {4, 1}), PartialTensorShape({2, 4, 3}));
  EXPECT_EQ(*b(PartialTensorShape::Scalar(), {5}), PartialTensorShape({5}));
  EXPECT_EQ(*b({-1, 3}, {1}), PartialTensorShape({-1, 3}));
  EXPECT_EQ(*b({-1}, {4}), PartialTensorShape({4}));
  EXPECT_EQ(*b({-1}, {1}), PartialTensorShape({-1}));
  EXPECT_EQ(*b({0}, {1}), PartialTensorShape({0}));
  EXPECT_TRUE(b(PartialTensorShape(), {3})->unknown_rank());
  EXPECT_FALSE(b({2}, {3}).ok());
}

TEST(CanonicalAxisTest, NegativeAndOutOfRange) {
  EXPECT_EQ(*CanonicalAxis(-1, 3), 2);
  EXPECT_EQ(*CanonicalAxis(0, 3), 0);
  EXPECT_FALSE(CanonicalAxis(3, 3).ok());
  EXPECT_FALSE(CanonicalAxis(-4, 3).ok());
}

TEST(InferenceContextTest, RankChecks) {
  AttrMap attrs;
  auto c =
      MakeContext(&attrs, {PartialTensorShape({2, 3}), PartialTensorShape()});
  EXPECT_TRUE(c.WithRank(0, 2).ok());
  EXPECT_FALSE(c.WithRank(0, 3).ok());
  EXPECT_EQ(*c.WithRank(1, 2), PartialTensorShape({-1, -1}));
  EXPECT_TRUE(c.WithRankAtLeast(0, 1).ok());
  EXPECT_FALSE(c.WithRankAtMost(0, 1).ok());
}

TEST(InferenceContextTest, ShapeFromShapeTensor) {
  AttrMap attrs;
  Tensor dims = Tensor::FromVector<int32_t>({-1, 4});
  auto known = MakeContext(&attrs, {PartialTensorShape({2})}, {&dims});
  EXPECT_EQ(*known.ShapeFromShapeTensor(0), PartialTensorShape({-1, 4}));
  auto length_only = MakeContext(&attrs, {PartialTensorShape({3})});
  EXPECT_EQ(*length_only.ShapeFromShapeTensor(0),
            PartialTensorShape({-1, -1, -1}));
  auto unknown = MakeContext(&attrs, {PartialTensorShape({-1})});
  EXPECT_TRUE(unknown.ShapeFromShapeTensor(0)->unknown_rank());
  Tensor bad = Tensor::FromVector<int32_t>({-5});
  auto negative = MakeContext(&attrs, {PartialTensorShape({1})}, {&bad});
  EXPECT_FALSE(negative.ShapeFromShapeTensor(0).ok());
}

TEST(ShapeFnsTest, Reduction) {
  AttrMap attrs;
  attrs["keep_dims"] = MakeAttr(false);
  Tensor axes = Tensor::FromVector<int32_t>({-1, 0});
  auto c = MakeContext(&attrs,
                       {PartialTensorShape({2, 3, 4}), PartialTensorShape({2})},
                       {nullptr, &axes});
  ASSERT_TRUE(shape_fns::Reduction(&c).ok());
  EXPECT_EQ(c.output(0), PartialTensorShape({3}));
  attrs["keep_dims"] = MakeAttr(true);
  ASSERT_TRUE(shape_fns::Reduction(&c).ok());
  EXPECT_EQ(c.output(0), PartialTensorShape({1, 3, 1}));
  Tensor bad_axes = Tensor::FromVector<int32_t>({5});
  auto bad =
      MakeContext(&attrs, {PartialTensorShape({2, 3}), PartialTensorShape({1})},
                  {nullptr, &bad_axes});
  EXPECT_FALSE(shape_fns::Reduction(&bad).ok());
}

TEST(ShapeFnsTest, MergeAllInputs) {
  AttrMap attrs;
  auto c = MakeContext(
      &attrs, {PartialTensorShape({-1, 3}), PartialTensorShape({2, -1})});
  ASSERT_TRUE(shape_fns::MergeAllInputs(&c).ok());
  EXPECT_EQ(c.output(0), PartialTensorShape({2, 3}));
  auto bad =
      MakeContext(&attrs, {PartialTensorShape({2}), PartialTensorShape({3})});
  EXPECT_FALSE(shape_fns::MergeAllInputs(&bad).ok());
}

}  // namespace
}  // namespace rill
