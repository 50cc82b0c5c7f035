#include "core/framework/attr_value.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(AttrValueTest, TypeChecks) {
  EXPECT_TRUE(AttrValueHasType(MakeAttr(int64_t{3}), "int").ok());
  EXPECT_FALSE(AttrValueHasType(MakeAttr(int64_t{3}), "float").ok());
  EXPECT_TRUE(
      AttrValueHasType(MakeAttr(std::vector<int64_t>{1, 2}), "list(int)").ok());
  EXPECT_FALSE(
      AttrValueHasType(MakeAttr(std::vector<int64_t>{1, 2}), "list(float)")
          .ok());
  AttrValue empty_list;
  empty_list.mutable_list();
  EXPECT_TRUE(AttrValueHasType(empty_list, "list(type)").ok());
  EXPECT_FALSE(AttrValueHasType(empty_list, "type").ok());
  auto s = AttrValueHasType(MakeAttr("x"), "bool");
  EXPECT_EQ(s.message(), "expected bool, got string");
  EXPECT_TRUE(IsValidAttrType("list(shape)"));
  EXPECT_FALSE(IsValidAttrType("list(blob)"));
}

TEST(AttrValueTest, TypedReads) {
  AttrMap attrs;
  attrs["n"] = MakeAttr(5);
  attrs["t"] = MakeAttr(::tensorflow::DT_DOUBLE);
  attrs["shape"] = MakeAttr(PartialTensorShape({-1, 2}));
  attrs["strides"] = MakeAttr(std::vector<int>{1, 2, 2, 1});
  int64_t n;
  ASSERT_TRUE(GetAttr(attrs, "n", &n).ok());
  EXPECT_EQ(n, 5);
  DataType t;
  ASSERT_TRUE(GetAttr(attrs, "t", &t).ok());
  EXPECT_EQ(t, ::tensorflow::DT_DOUBLE);
  PartialTensorShape shape;
  ASSERT_TRUE(GetAttr(attrs, "shape", &shape).ok());
  EXPECT_EQ(shape, PartialTensorShape({-1, 2}));
  std::vector<int64_t> strides;
  ASSERT_TRUE(GetAttr(attrs, "strides", &strides).ok());
  EXPECT_EQ(strides, (std::vector<int64_t>{1, 2, 2, 1}));

  EXPECT_EQ(GetAttr(attrs, "missing", &n).code(), absl::StatusCode::kNotFound);
  auto wrong = GetAttr(attrs, "t", &n);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.message().find("'t'"), std::string::npos);
}

TEST(AttrValueTest, Summaries) {
  EXPECT_EQ(SummarizeAttrValue(MakeAttr(std::vector<int>{1, 2})), "[1, 2]");
  EXPECT_EQ(SummarizeAttrValue(MakeAttr(::tensorflow::DT_FLOAT)), "float");
  EXPECT_EQ(SummarizeAttrValue(MakeAttr("SAME")), "\"SAME\"");
  EXPECT_EQ(SummarizeAttrValue(MakeAttr(PartialTensorShape({-1, 3}))), "[?,3]");
}

}  // namespace
}  // namespace rill
