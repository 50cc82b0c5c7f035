#include "core/framework/tensor_proto.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::TensorProto;

TensorProto MakeProto(::tensorflow::DataType dtype,
                      std::initializer_list<int64_t> dims) {
  TensorProto p;
  p.set_dtype(dtype);
  for (int64_t d : dims) p.mutable_tensor_shape()->add_dim()->set_size(d);
  return p;
}

TEST(TensorProtoTest, ContentRoundTrip) {
  Tensor t = Tensor::FromVector<float>({1.5f, -2, 3, 4}, TensorShape({2, 2}));
  TensorProto p;
  TensorToProto(t, &p);
  EXPECT_EQ(p.tensor_content().size(), 16u);
  auto back = TensorFromProto(p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(t));
}

TEST(TensorProtoTest, FieldRoundTripEveryDtype) {
  std::vector<Tensor> tensors = {
      Tensor::FromVector<double>({1, 2.5}),
      Tensor::FromVector<int32_t>({-1, 7}),
      Tensor::FromVector<int64_t>({int64_t{1} << 40, -3}),
      Tensor::FromVector<bool>({true, false}),
      Tensor::FromVector<uint8_t>({0, 255}),
      Tensor::FromVector<int8_t>({-128, 127}),
      Tensor::FromVector<int16_t>({-300, 300}),
      Tensor::FromVector<uint16_t>({65535, 1}),
      Tensor::FromVector<uint32_t>({4000000000u, 2}),
      Tensor::FromVector<uint64_t>({~uint64_t{0}, 2}),
      Tensor::FromVector<std::string>({"x", ""}),
      Tensor::FromVector<Half>({Half{0x3c00}, Half{0xc000}}),
  };
  for (const Tensor& t : tensors) {
    TensorProto p;
    TensorToProtoField(t, &p);
    EXPECT_TRUE(p.tensor_content().empty());
    auto back = TensorFromProto(p);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->Equals(t)) << t.DebugString();
  }
}

TEST(TensorProtoTest, ShortFieldIsPaddedWithItsLastValue) {
  TensorProto p = MakeProto(::tensorflow::DT_FLOAT, {2, 3});
  p.add_float_val(1);
  p.add_float_val(9);
  auto t = TensorFromProto(p);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->Equals(
      Tensor::FromVector<float>({1, 9, 9, 9, 9, 9}, TensorShape({2, 3}))));
  TensorProto empty = MakeProto(::tensorflow::DT_INT32, {3});
  auto zeros = TensorFromProto(empty);
  ASSERT_TRUE(zeros.ok());
  EXPECT_TRUE(zeros->Equals(Tensor::FromVector<int32_t>({0, 0, 0})));
}

TEST(TensorProtoTest, StringsInTensorFlowsContentEncoding) {
  // TensorFlow's C++ client sends string feeds as tensor_content: the
  // elements' lengths as varint32s, then their bytes.
  TensorProto p = MakeProto(::tensorflow::DT_STRING, {3});
  const std::string long_one(200, 'z');
  p.set_tensor_content(std::string("\x02\x00\xc8\x01", 4) + "ab" + long_one);
  auto t = TensorFromProto(p);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->Equals(Tensor::FromVector<std::string>({"ab", "", long_one})));
  // Lengths that do not add up to the bytes, or stop short.
  TensorProto bad = MakeProto(::tensorflow::DT_STRING, {2});
  bad.set_tensor_content(std::string("\x05\x01", 2) + "abc");
  auto s = TensorFromProto(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("add up"), std::string::npos) << s;
  bad.set_tensor_content(std::string("\x80", 1));
  EXPECT_EQ(ValidateTensorProto(bad).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TensorProtoTest, MalformedProtosAreRejected) {
  TensorProto too_many = MakeProto(::tensorflow::DT_INT32, {2});
  for (int i = 0; i < 3; ++i) too_many.add_int_val(i);
  EXPECT_EQ(TensorFromProto(too_many).status().code(),
            absl::StatusCode::kInvalidArgument);

  TensorProto wrong_bytes = MakeProto(::tensorflow::DT_FLOAT, {3});
  wrong_bytes.set_tensor_content(std::string(8, '\0'));
  EXPECT_EQ(ValidateTensorProto(wrong_bytes).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTensorProto(too_many).code(),
            absl::StatusCode::kInvalidArgument);
  auto s = TensorFromProto(wrong_bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tensor_content"), std::string::npos);

  TensorProto negative = MakeProto(::tensorflow::DT_FLOAT, {-2});
  EXPECT_EQ(TensorFromProto(negative).status().code(),
            absl::StatusCode::kInvalidArgument);

  TensorProto invalid = MakeProto(::tensorflow::DT_INVALID, {1});
  EXPECT_EQ(TensorFromProto(invalid).status().code(),
            absl::StatusCode::kInvalidArgument);

  TensorProto complex = MakeProto(::tensorflow::DT_COMPLEX64, {1});
  EXPECT_EQ(TensorFromProto(complex).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(TensorProtoTest, HugeShapeHitsTheLimitBeforeAllocating) {
  TensorProto huge = MakeProto(::tensorflow::DT_FLOAT, {1000000, 1000000});
  huge.add_float_val(1);
  EXPECT_EQ(TensorFromProto(huge).status().code(),
            absl::StatusCode::kResourceExhausted);
  TensorProto small = MakeProto(::tensorflow::DT_FLOAT, {100});
  EXPECT_EQ(TensorFromProto(small, /*max_bytes=*/100).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(TensorFromProto(small, /*max_bytes=*/400).ok());
  EXPECT_TRUE(ValidateTensorProto(small).ok());
  EXPECT_EQ(ValidateTensorProto(huge).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(TensorProtoTest, VariantTensorsAreNotDecoded) {
  ::tensorflow::TensorProto proto;
  proto.set_dtype(::tensorflow::DT_VARIANT);
  proto.mutable_tensor_shape();
  auto t = TensorFromProto(proto);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(t.status().message().find("variant"), std::string::npos);
}

}  // namespace
}  // namespace rill
