#include "core/framework/op_registry.h"

#include "core/framework/shape_inference.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(OpDefBuilderTest, ParsesTensorFlowStyleSpecs) {
  auto data = OpDefBuilder("Test")
                  .Input("a: T")
                  .Input("values: N * T")
                  .Input("ref: Ref(T)")
                  .Input("handle: resource")
                  .Input("extra: Tlist")
                  .Output("out: float")
                  .Attr("T: {float, double} = DT_FLOAT")
                  .Attr("N: int >= 1")
                  .Attr("Tlist: list(type) >= 0")
                  .Attr("padding: {'SAME', 'VALID'}")
                  .Attr("strides: list(int) = [1, 2, 2, 1]")
                  .Attr("flag: bool = false")
                  .Attr("alpha: float = 0.2")
                  .Attr("shape: shape = { unknown_rank: true }")
                  .SetIsStateful()
                  .Finalize();
  ASSERT_TRUE(data.ok()) << data.status();
  const auto& def = data->op_def;
  EXPECT_EQ(def.name(), "Test");
  ASSERT_EQ(def.input_arg_size(), 5);
  EXPECT_EQ(def.input_arg(0).type_attr(), "T");
  EXPECT_EQ(def.input_arg(1).number_attr(), "N");
  EXPECT_EQ(def.input_arg(1).type_attr(), "T");
  EXPECT_TRUE(def.input_arg(2).is_ref());
  EXPECT_EQ(def.input_arg(3).type(), ::tensorflow::DT_RESOURCE);
  EXPECT_EQ(def.input_arg(4).type_list_attr(), "Tlist");
  EXPECT_EQ(def.output_arg(0).type(), ::tensorflow::DT_FLOAT);
  EXPECT_EQ(def.attr(0).type(), "type");
  EXPECT_EQ(def.attr(0).allowed_values().list().type_size(), 2);
  EXPECT_EQ(def.attr(0).default_value().type(), ::tensorflow::DT_FLOAT);
  EXPECT_TRUE(def.attr(1).has_minimum());
  EXPECT_EQ(def.attr(1).minimum(), 1);
  EXPECT_EQ(def.attr(2).type(), "list(type)");
  EXPECT_EQ(def.attr(3).type(), "string");
  EXPECT_EQ(def.attr(3).allowed_values().list().s(1), "VALID");
  EXPECT_EQ(def.attr(4).default_value().list().i_size(), 4);
  EXPECT_EQ(def.attr(5).default_value().value_case(),
            ::tensorflow::AttrValue::kB);
  EXPECT_FALSE(def.attr(5).default_value().b());
  EXPECT_FLOAT_EQ(def.attr(6).default_value().f(), 0.2f);
  EXPECT_TRUE(def.attr(7).default_value().shape().unknown_rank());
  EXPECT_TRUE(def.is_stateful());
  EXPECT_TRUE(data->shape_fn != nullptr);
}

TEST(OpDefBuilderTest, RejectsBadSpecs) {
  EXPECT_FALSE(OpDefBuilder("A").Input("x").Finalize().ok());
  EXPECT_FALSE(OpDefBuilder("A").Input("x: NotAType").Finalize().ok());
  EXPECT_FALSE(OpDefBuilder("A").Attr("x: blob").Finalize().ok());
  EXPECT_FALSE(OpDefBuilder("A").Attr("x: int = abc").Finalize().ok());
  EXPECT_FALSE(
      OpDefBuilder("A").Input("x: N * float").Finalize().ok());  // No attr N.
  EXPECT_FALSE(
      OpDefBuilder("A").Input("x: float").Input("x: float").Finalize().ok());
}

TEST(OpRegistryTest, RegisterAndLookUp) {
  OpRegistry registry;
  auto data = OpDefBuilder("MyOp").Output("y: int32").Finalize();
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(registry.Register(*data).ok());
  EXPECT_EQ(registry.Register(*data).code(), absl::StatusCode::kAlreadyExists);
  auto found = registry.LookUp("MyOp");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->op_def.output_arg(0).type(), ::tensorflow::DT_INT32);
  auto missing = registry.LookUp("Nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("Nope"), std::string::npos);
  EXPECT_EQ(registry.List().size(), 1u);
}

}  // namespace
}  // namespace rill
