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

TEST(AllocatorTest, RefusesPastItsLimitAndRecovers) {
  CpuAllocatorImpl a;
  EXPECT_EQ(a.limit(), DefaultMemoryLimit());
  EXPECT_GT(DefaultMemoryLimit(), 0);
  a.set_limit(1 << 20);
  void* p = a.AllocateRaw(64, 600 << 10);
  ASSERT_NE(p, nullptr);
  // 600 KiB more would pass 1 MiB: refused, and nothing is counted.
  EXPECT_EQ(a.AllocateRaw(64, 600 << 10), nullptr);
  EXPECT_EQ(a.bytes_in_use(), 600 << 10);
  // A single request past the limit, however large.
  EXPECT_EQ(a.AllocateRaw(64, size_t{1} << 40), nullptr);
  void* q = a.AllocateRaw(64, 400 << 10);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(a.bytes_in_use(), 1000 << 10);
  a.DeallocateRaw(p, 600 << 10);
  p = a.AllocateRaw(64, 600 << 10);
  EXPECT_NE(p, nullptr);
  a.DeallocateRaw(p, 600 << 10);
  a.DeallocateRaw(q, 400 << 10);
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

TEST(AllocatorTest, LargeBlocksArePageAlignedAndReused) {
  CpuAllocatorImpl a;
  const size_t big = (3 << 20) + 5;  // Not a whole number of pages.
  auto* p = static_cast<char*>(a.AllocateRaw(64, big));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u);
  p[0] = 1;
  p[big - 1] = 2;
  a.DeallocateRaw(p, big);
  EXPECT_EQ(a.bytes_in_use(), 0);
  // The same size again (or one that rounds to the same pages, at another
  // alignment) gets the kept block; another size gets another block.
  auto* q = static_cast<char*>(a.AllocateRaw(4096, big - 3));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 4096, 0u);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(q, p);
#endif
  auto* r = static_cast<char*>(a.AllocateRaw(64, big + 8192));
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r, q);
  r[big + 8191] = 3;
  EXPECT_EQ(a.bytes_in_use(), static_cast<int64_t>(2 * big + 8192 - 3));
  a.DeallocateRaw(q, big - 3);
  a.DeallocateRaw(r, big + 8192);
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
