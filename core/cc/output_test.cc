#include "core/cc/output.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(InitializerTest, ScalarsTakeTensorFlowDefaultDtypes) {
  EXPECT_EQ(Initializer(1.5f).tensor().dtype(), DT_FLOAT);
  EXPECT_EQ(Initializer(1.5).tensor().dtype(), DT_DOUBLE);
  EXPECT_EQ(Initializer(3).tensor().dtype(), DT_INT32);
  EXPECT_EQ(Initializer(int64_t{3}).tensor().dtype(), DT_INT64);
  EXPECT_EQ(Initializer(true).tensor().dtype(), DT_BOOL);
  EXPECT_EQ(Initializer("s").tensor().dtype(), DT_STRING);
}

TEST(InitializerTest, NestedListsBecomeTensors) {
  Initializer m = {{1, 2, 3}, {4, 5, 6}};
  ASSERT_TRUE(m.status().ok()) << m.status();
  EXPECT_EQ(m.tensor().shape(), TensorShape({2, 3}));
  EXPECT_TRUE(m.tensor().Equals(
      Tensor::FromVector<int32_t>({1, 2, 3, 4, 5, 6}, TensorShape({2, 3}))));
  Initializer cube = {{{1.0f}, {2.0f}}, {{3.0f}, {4.0f}}};
  EXPECT_EQ(cube.tensor().shape(), TensorShape({2, 2, 1}));
}

TEST(InitializerTest, RaggedAndMixedListsAreErrors) {
  Initializer ragged = {{1, 2}, {3}};
  EXPECT_FALSE(ragged.status().ok());
  EXPECT_NE(ragged.status().message().find("ragged"), std::string::npos);
  Initializer mixed = {1, 2.0f};
  EXPECT_FALSE(mixed.status().ok());
  EXPECT_NE(mixed.status().message().find("mixes"), std::string::npos);
  Initializer deep = {{1, 2}, {{3, 4}}};
  EXPECT_FALSE(deep.status().ok());
}

}  // namespace
}  // namespace rill
