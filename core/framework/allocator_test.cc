#include "core/framework/allocator.h"

#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(AllocatorTest, AlignsAndCounts) {
  CpuAllocatorImpl a;
  void* p = a.AllocateRaw(8, 100);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kAllocatorAlignment, 0u);
  void* q = a.AllocateRaw(256, 10);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 256, 0u);
  EXPECT_EQ(a.bytes_in_use(), 110);
  EXPECT_EQ(a.peak_bytes_in_use(), 110);
  a.DeallocateRaw(p, 100);
  EXPECT_EQ(a.bytes_in_use(), 10);
  EXPECT_EQ(a.peak_bytes_in_use(), 110);
  a.ResetPeak();
  EXPECT_EQ(a.peak_bytes_in_use(), 10);
  a.DeallocateRaw(q, 10);
  a.DeallocateRaw(nullptr, 0);
  EXPECT_EQ(a.bytes_in_use(), 0);
}

TEST(AllocatorTest, ZeroBytesAndImpossibleSizes) {
  CpuAllocatorImpl a;
  void* p = a.AllocateRaw(64, 0);
  EXPECT_NE(p, nullptr);
  a.DeallocateRaw(p, 0);
  EXPECT_EQ(a.AllocateRaw(64, std::numeric_limits<size_t>::max() - 8), nullptr);
  EXPECT_EQ(a.bytes_in_use(), 0);
}

TEST(AllocatorTest, ThreadSafeCounting) {
  CpuAllocatorImpl a;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&a] {
      for (int i = 0; i < 1000; ++i) a.DeallocateRaw(a.AllocateRaw(64, 32), 32);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(a.bytes_in_use(), 0);
  EXPECT_GE(a.peak_bytes_in_use(), 32);
  EXPECT_LE(a.peak_bytes_in_use(), 4 * 32);
}

}  // namespace
}  // namespace rill
