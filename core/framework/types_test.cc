#include "core/framework/types.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::DT_BOOL;
using ::tensorflow::DT_FLOAT;
using ::tensorflow::DT_FLOAT_REF;
using ::tensorflow::DT_INT64;
using ::tensorflow::DT_RESOURCE;
using ::tensorflow::DT_STRING;

TEST(TypesTest, NamesRoundTrip) {
  EXPECT_EQ(DataTypeName(DT_FLOAT), "float");
  EXPECT_EQ(DataTypeName(DT_FLOAT_REF), "float_ref");
  EXPECT_EQ(NumpyName(DT_FLOAT), "float32");
  EXPECT_EQ(NumpyName(::tensorflow::DT_DOUBLE), "float64");
  EXPECT_EQ(*DataTypeFromName("int64"), DT_INT64);
  EXPECT_EQ(*DataTypeFromName("float_ref"), DT_FLOAT_REF);
  EXPECT_FALSE(DataTypeFromName("float33").has_value());
  EXPECT_FALSE(DataTypeFromName("_ref").has_value());
}

TEST(TypesTest, RefTypes) {
  EXPECT_TRUE(IsRefType(DT_FLOAT_REF));
  EXPECT_FALSE(IsRefType(DT_FLOAT));
  EXPECT_EQ(BaseType(DT_FLOAT_REF), DT_FLOAT);
  EXPECT_EQ(MakeRefType(DT_FLOAT), DT_FLOAT_REF);
  EXPECT_EQ(MakeRefType(DT_FLOAT_REF), DT_FLOAT_REF);
  EXPECT_EQ(static_cast<int>(DT_FLOAT_REF), 101);
}

TEST(TypesTest, SizesAndStorability) {
  EXPECT_EQ(DataTypeSize(DT_FLOAT), 4u);
  EXPECT_EQ(DataTypeSize(DT_INT64), 8u);
  EXPECT_EQ(DataTypeSize(DT_BOOL), 1u);
  EXPECT_EQ(DataTypeSize(::tensorflow::DT_HALF), 2u);
  EXPECT_EQ(DataTypeSize(DT_STRING), 0u);
  EXPECT_TRUE(IsTensorStorable(DT_STRING));
  EXPECT_FALSE(IsTensorStorable(DT_RESOURCE));
  EXPECT_EQ(CheckTensorStorable(::tensorflow::DT_COMPLEX64).code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace rill
