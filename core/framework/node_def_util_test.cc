#include "core/framework/node_def_util.h"

#include "core/framework/op_registry.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

::tensorflow::OpDef TestOp() {
  auto data = OpDefBuilder("Test")
                  .Input("a: T")
                  .Input("b: N * int32")
                  .Input("r: Ref(T)")
                  .Input("l: L")
                  .Output("out: T")
                  .Attr("T: {float, double}")
                  .Attr("N: int >= 1")
                  .Attr("L: list(type) >= 0")
                  .Attr("padding: {'SAME', 'VALID'} = 'SAME'")
                  .Finalize();
  EXPECT_TRUE(data.ok()) << data.status();
  return data->op_def;
}

TEST(NodeDefUtilTest, DefaultsValidationAndTypes) {
  auto def = TestOp();
  AttrMap attrs;
  attrs["T"] = MakeAttr(::tensorflow::DT_DOUBLE);
  attrs["N"] = MakeAttr(2);
  attrs["L"] = MakeAttr(std::vector<DataType>{::tensorflow::DT_BOOL});
  attrs["_class"] = MakeAttr(std::vector<std::string>{"loc:@x"});
  AddDefaultAttrs(def, &attrs);
  EXPECT_EQ(attrs["padding"].s(), "SAME");
  ASSERT_TRUE(ValidateAttrs(def, attrs).ok());
  std::vector<DataType> in, out;
  ASSERT_TRUE(InOutTypes(def, attrs, &in, &out).ok());
  EXPECT_EQ(in, (std::vector<DataType>{
                    ::tensorflow::DT_DOUBLE, ::tensorflow::DT_INT32,
                    ::tensorflow::DT_INT32, ::tensorflow::DT_DOUBLE_REF,
                    ::tensorflow::DT_BOOL}));
  EXPECT_EQ(out, (std::vector<DataType>{::tensorflow::DT_DOUBLE}));
}

TEST(NodeDefUtilTest, ImpossibleCountsAreRefusedBeforeAnyAllocation) {
  auto def = TestOp();
  for (int64_t n : {int64_t{1} << 32, int64_t{2147483647}, int64_t{-1},
                    int64_t{1000000000}}) {
    AttrMap attrs;
    attrs["T"] = MakeAttr(::tensorflow::DT_DOUBLE);
    attrs["N"] = MakeAttr(n);
    attrs["L"] = MakeAttr(std::vector<DataType>{::tensorflow::DT_BOOL});
    AddDefaultAttrs(def, &attrs);
    std::vector<DataType> in, out;
    absl::Status s = InOutTypes(def, attrs, &in, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << n;
    EXPECT_NE(s.message().find("attr 'N' is"), std::string::npos) << s;
  }
}

TEST(NodeDefUtilTest, ValidationErrorsNameTheAttr) {
  auto def = TestOp();
  AttrMap attrs;
  attrs["T"] = MakeAttr(::tensorflow::DT_INT32);
  attrs["N"] = MakeAttr(1);
  attrs["L"] = MakeAttr(std::vector<DataType>{});
  attrs["padding"] = MakeAttr("SAME");
  auto s = ValidateAttrs(def, attrs);
  EXPECT_NE(s.message().find("'T'"), std::string::npos) << s;
  attrs["T"] = MakeAttr(::tensorflow::DT_FLOAT);
  attrs["N"] = MakeAttr(0);
  s = ValidateAttrs(def, attrs);
  EXPECT_NE(s.message().find("minimum"), std::string::npos) << s;
  attrs["N"] = MakeAttr(1);
  attrs["padding"] = MakeAttr("FULL");
  s = ValidateAttrs(def, attrs);
  EXPECT_NE(s.message().find("FULL"), std::string::npos) << s;
  attrs["padding"] = MakeAttr(3);
  s = ValidateAttrs(def, attrs);
  EXPECT_NE(s.message().find("expected string, got int"), std::string::npos)
      << s;
  attrs["padding"] = MakeAttr("VALID");
  attrs["bogus"] = MakeAttr(1);
  s = ValidateAttrs(def, attrs);
  EXPECT_NE(s.message().find("unknown attr 'bogus'"), std::string::npos) << s;
  attrs.erase("bogus");
  attrs.erase("N");
  s = ValidateAttrs(def, attrs);
  EXPECT_NE(s.message().find("missing attr 'N'"), std::string::npos) << s;
}

}  // namespace
}  // namespace rill
