#include "core/framework/tensor.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(TensorTest, CreateIsZeroedAndAligned) {
  auto t = Tensor::Create(::tensorflow::DT_FLOAT, TensorShape({3, 5}));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->NumElements(), 15);
  EXPECT_EQ(t->TotalBytes(), 60u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw_data()) % kAllocatorAlignment,
            0u);
  for (float v : t->flat<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(TensorTest, UnsupportedDtypeIsAnError) {
  auto t = Tensor::Create(::tensorflow::DT_COMPLEX64, TensorShape({2}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(TensorTest, ReshapeSharesTheBuffer) {
  Tensor t =
      Tensor::FromVector<int32_t>({1, 2, 3, 4, 5, 6}, TensorShape({2, 3}));
  auto r = t.Reshape(TensorShape({3, 2}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->SharesBufferWith(t));
  r->flat<int32_t>()[0] = 42;
  EXPECT_EQ(t.flat<int32_t>()[0], 42);
  EXPECT_FALSE(t.Reshape(TensorShape({4})).ok());
}

TEST(TensorTest, SliceDimZeroSharesTheBuffer) {
  Tensor t =
      Tensor::FromVector<float>({0, 1, 2, 3, 4, 5, 6, 7}, TensorShape({4, 2}));
  auto s = t.Slice(1, 3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->shape(), TensorShape({2, 2}));
  EXPECT_TRUE(s->SharesBufferWith(t));
  EXPECT_EQ(s->flat<float>()[0], 2.0f);
  EXPECT_EQ(s->flat<float>()[3], 5.0f);
  auto empty = t.Slice(2, 2);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->NumElements(), 0);
  EXPECT_FALSE(t.Slice(3, 5).ok());
  EXPECT_FALSE(t.Slice(2, 1).ok());
  EXPECT_FALSE(Tensor::Scalar(1.0f).Slice(0, 1).ok());
}

TEST(TensorTest, RefCountTellsWhenABufferMayBeReused) {
  Tensor t = Tensor::Scalar<int64_t>(7);
  EXPECT_TRUE(t.RefCountIsOne());
  {
    Tensor copy = t;
    EXPECT_FALSE(t.RefCountIsOne());
  }
  EXPECT_TRUE(t.RefCountIsOne());
}

TEST(TensorTest, MovedFromTensorIsUninitialized) {
  Tensor t = Tensor::FromVector<float>({1, 2});
  Tensor u = std::move(t);
  EXPECT_FALSE(t.IsInitialized());  // NOLINT: testing the moved-from state.
  EXPECT_TRUE(u.IsInitialized());
  EXPECT_TRUE(u.RefCountIsOne());
  Tensor w;
  w = std::move(u);
  EXPECT_FALSE(u.IsInitialized());  // NOLINT
  EXPECT_EQ(w.flat<float>()[1], 2.0f);
}

TEST(TensorTest, StringsAndDeepCopy) {
  Tensor t = Tensor::FromVector<std::string>({"a", "bc"});
  auto c = t.DeepCopy();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->SharesBufferWith(t));
  EXPECT_TRUE(c->Equals(t));
  c->flat<std::string>()[1] = "changed";
  EXPECT_FALSE(c->Equals(t));
  EXPECT_EQ(t.DebugString(), "string [2] [\"a\" \"bc\"]");
}

TEST(TensorTest, AllocatorCountsBytes) {
  CpuAllocatorImpl* a = CpuAllocator();
  const int64_t before = a->bytes_in_use();
  {
    auto t = Tensor::Create(::tensorflow::DT_DOUBLE, TensorShape({128}));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(a->bytes_in_use(), before + 1024);
    EXPECT_GE(a->peak_bytes_in_use(), before + 1024);
  }
  EXPECT_EQ(a->bytes_in_use(), before);
}

TEST(TensorTest, PastTheMemoryLimitIsResourceExhaustedNamingIt) {
  CpuAllocatorImpl* cpu = CpuAllocator();
  const int64_t saved = cpu->limit();
  cpu->set_limit(cpu->bytes_in_use() + (1 << 20));
  absl::StatusOr<Tensor> t =
      Tensor::Create(::tensorflow::DT_FLOAT, TensorShape({1000, 1000}));
  cpu->set_limit(saved);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(t.status().message().find("4000000 bytes"), std::string::npos)
      << t.status();
  EXPECT_NE(t.status().message().find("memory limit"), std::string::npos)
      << t.status();
  EXPECT_TRUE(
      Tensor::Create(::tensorflow::DT_FLOAT, TensorShape({1000, 1000})).ok());
}

TEST(TensorTest, DebugStringTruncates) {
  Tensor t = Tensor::FromVector<int32_t>({1, 2, 3, 4});
  EXPECT_EQ(t.DebugString(2), "int32 [4] [1 2 ...]");
  EXPECT_EQ(Tensor().DebugString(), "<uninitialized tensor>");
}

// A value that counts how many of it are alive.
struct Counted : VariantValue {
  explicit Counted(int* alive) : alive(alive) { ++*alive; }
  ~Counted() override { --*alive; }
  std::string TypeName() const override { return "Counted"; }
  int* alive;
};

TEST(TensorTest, VariantElementsAreSharedValues) {
  int alive = 0;
  {
    auto t = Tensor::Create(DT_VARIANT, TensorShape({2}));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(t->flat<Variant>()[0].empty());
    t->flat<Variant>()[1] = Variant(std::make_shared<Counted>(&alive));
    EXPECT_EQ(alive, 1);
    auto copy = t->DeepCopy();
    ASSERT_TRUE(copy.ok());
    // The copy shares the value (values are immutable) and equals it.
    EXPECT_EQ(alive, 1);
    EXPECT_TRUE(copy->Equals(*t));
    EXPECT_NE(copy->flat<Variant>()[1].get<Counted>(), nullptr);
    EXPECT_EQ(copy->flat<Variant>()[0].get<Counted>(), nullptr);
    EXPECT_EQ(t->DebugString(), "variant [2] [<empty variant> Counted]");
  }
  EXPECT_EQ(alive, 0);  // Both buffers destroyed their elements.
}

}  // namespace
}  // namespace rill
