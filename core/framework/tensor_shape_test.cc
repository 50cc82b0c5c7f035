#include "core/framework/tensor_shape.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(TensorShapeTest, Basics) {
  TensorShape s({2, 3, 4});
  EXPECT_EQ(s.dims(), 3);
  EXPECT_EQ(s.num_elements(), 24);
  EXPECT_EQ(s.DebugString(), "[2,3,4]");
  EXPECT_EQ(TensorShape().num_elements(), 1);
  EXPECT_EQ(TensorShape({0, 5}).num_elements(), 0);
}

TEST(TensorShapeTest, CreateRejectsBadDims) {
  EXPECT_FALSE(TensorShape::Create({2, -1}).ok());
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  auto overflow = TensorShape::Create({big, 3});
  ASSERT_FALSE(overflow.ok());
  EXPECT_NE(overflow.status().message().find("int64"), std::string::npos);
  std::vector<int64_t> too_many(kMaxRank + 1, 1);
  EXPECT_FALSE(TensorShape::Create(too_many).ok());
}

TEST(TensorShapeTest, ProtoRoundTrip) {
  ::tensorflow::TensorShapeProto p;
  TensorShape({7, 1}).ToProto(&p);
  EXPECT_EQ(*TensorShape::FromProto(p), TensorShape({7, 1}));
  p.set_unknown_rank(true);
  EXPECT_FALSE(TensorShape::FromProto(p).ok());
}

TEST(PartialTensorShapeTest, UnknownsAndMerge) {
  EXPECT_EQ(PartialTensorShape::Scalar().dims(), 0);
  EXPECT_EQ(PartialTensorShape::Scalar().num_elements(), 1);
  PartialTensorShape unknown;
  EXPECT_TRUE(unknown.unknown_rank());
  EXPECT_EQ(unknown.dims(), -1);
  EXPECT_EQ(unknown.DebugString(), "<unknown>");
  PartialTensorShape a({-1, 3});
  PartialTensorShape b({2, -1});
  EXPECT_FALSE(a.IsFullyDefined());
  EXPECT_EQ(a.num_elements(), -1);
  EXPECT_EQ(a.DebugString(), "[?,3]");
  auto m = a.Merge(b);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, PartialTensorShape({2, 3}));
  EXPECT_TRUE(m->IsFullyDefined());
  EXPECT_EQ(*unknown.Merge(a), a);
  EXPECT_FALSE(a.Merge(PartialTensorShape({2, 4})).ok());
  EXPECT_FALSE(a.Merge(PartialTensorShape({3})).ok());
  EXPECT_TRUE(a.IsCompatibleWith(TensorShape({9, 3})));
  EXPECT_FALSE(a.IsCompatibleWith(TensorShape({9, 4})));
}

TEST(PartialTensorShapeTest, ProtoRoundTrip) {
  ::tensorflow::TensorShapeProto p;
  PartialTensorShape({-1, 5}).ToProto(&p);
  EXPECT_EQ(*PartialTensorShape::FromProto(p), PartialTensorShape({-1, 5}));
  PartialTensorShape().ToProto(&p);
  EXPECT_TRUE(p.unknown_rank());
  EXPECT_TRUE(PartialTensorShape::FromProto(p)->unknown_rank());
  p.add_dim()->set_size(3);
  EXPECT_FALSE(PartialTensorShape::FromProto(p).ok());
  ::tensorflow::TensorShapeProto bad;
  bad.add_dim()->set_size(-7);
  EXPECT_FALSE(PartialTensorShape::FromProto(bad).ok());
}

}  // namespace
}  // namespace rill
