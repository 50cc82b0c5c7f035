// The raw RecvTensor encoding: what the encoder writes is a valid
// RecvTensorResponse for protobuf, and the decoder reads both its own
// encoding and protobuf's, for every kind of tensor.
#include "distributed/tensor_coding.h"

#include "core/framework/tensor_proto.h"
#include "distributed/protos/worker.pb.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

grpc::ByteBuffer FromBytes(const std::string& bytes) {
  // Split in three slices, as gRPC may deliver a message.
  const size_t a = bytes.size() / 3, b = 2 * bytes.size() / 3;
  grpc::Slice slices[3] = {grpc::Slice(bytes.data(), a),
                           grpc::Slice(bytes.data() + a, b - a),
                           grpc::Slice(bytes.data() + b, bytes.size() - b)};
  return grpc::ByteBuffer(slices, 3);
}

TEST(TensorCodingTest, RoundTripsAndIsAValidProto) {
  const std::vector<Tensor> tensors = {
      Tensor::FromVector<float>({1.5f, -2, 3, 4, 5, 6}, TensorShape({2, 3})),
      Tensor::FromVector<int64_t>({int64_t{1} << 40, -7}, TensorShape({2})),
      Tensor::Scalar<double>(2.25),
      *Tensor::Create(DT_FLOAT, TensorShape({0, 4})),
      Tensor::FromVector<std::string>({"a", std::string("b\0c", 3)},
                                      TensorShape({2})),
      Tensor::FromVector<bool>({true, false, true}, TensorShape({3})),
  };
  for (const Tensor& t : tensors) {
    grpc::ByteBuffer encoded;
    EncodeRecvTensorResponse(t, false, &encoded);
    // Protobuf reads it.
    ::tensorflow::RecvTensorResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(Flatten(encoded))) << t.DebugString();
    auto via_proto = TensorFromProto(parsed.tensor());
    ASSERT_TRUE(via_proto.ok()) << via_proto.status();
    EXPECT_TRUE(via_proto->Equals(t)) << t.DebugString();
    // The decoder reads it, split over slices.
    Tensor back;
    bool dead = true;
    ASSERT_TRUE(DecodeRecvTensorResponse(FromBytes(Flatten(encoded)), 1 << 20,
                                         &back, &dead)
                    .ok());
    EXPECT_FALSE(dead);
    EXPECT_TRUE(back.Equals(t))
        << back.DebugString() << " vs " << t.DebugString();
    // And protobuf's own encoding of the same tensor, typed fields too.
    ::tensorflow::RecvTensorResponse typed;
    TensorToProtoField(t, typed.mutable_tensor());
    ASSERT_TRUE(DecodeRecvTensorResponse(FromBytes(typed.SerializeAsString()),
                                         1 << 20, &back, &dead)
                    .ok());
    EXPECT_TRUE(back.Equals(t)) << t.DebugString();
  }
}

TEST(TensorCodingTest, DeadAndBadMessages) {
  grpc::ByteBuffer encoded;
  EncodeRecvTensorResponse(Tensor(), true, &encoded);
  Tensor t;
  bool dead = false;
  ASSERT_TRUE(DecodeRecvTensorResponse(encoded, 1 << 20, &t, &dead).ok());
  EXPECT_TRUE(dead);

  EncodeRecvTensorResponse(
      Tensor::FromVector<float>(std::vector<float>(1000, 1.0f),
                                TensorShape({1000})),
      false, &encoded);
  const std::string bytes = Flatten(encoded);
  absl::Status s = DecodeRecvTensorResponse(
      FromBytes(bytes.substr(0, bytes.size() / 2)), 1 << 20, &t, &dead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  s = DecodeRecvTensorResponse(FromBytes(bytes), 100, &t, &dead);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  s = DecodeRecvTensorResponse(FromBytes("\x0a\xff\xff\xff\xff\x0f"), 1 << 20,
                               &t, &dead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  // A one-byte tensor message whose shape field's length runs past it (a
  // fuzzer's find: the remaining length underflowed, and a string of 2^63
  // bytes was asked for).
  s = DecodeRecvTensorResponse(
      FromBytes(std::string("\x0a\x01\x12\xff\xff\xff\xff\xff\xff\xff\xff\x0f"
                            "\xff\x01\x12\xff\x01\x12",
                            18)),
      1 << 20, &t, &dead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

}  // namespace
}  // namespace rill
