#include "tools/flag_values.h"

#include "core/framework/allocator.h"
#include "gtest/gtest.h"

namespace rill::tools {
namespace {

TEST(FlagValuesTest, ByteCountsWithSuffixes) {
  EXPECT_EQ(*ParseByteCount("--memory_limit", "1073741824"), 1073741824);
  EXPECT_EQ(*ParseByteCount("--memory_limit", "512M"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteCount("--memory_limit", "8g"), int64_t{8} << 30);
  EXPECT_EQ(*ParseByteCount("--memory_limit", "2T"), int64_t{2} << 40);
  EXPECT_EQ(*ParseByteCount("--memory_limit", "64K"), 65536);
}

TEST(FlagValuesTest, BadByteCountsNameTheFlag) {
  for (const char* bad : {"", "G", "0", "-5", "+5", "1.5G", "12Q", "abc",
                          "99999999999999999999", "5000000000G"}) {
    absl::StatusOr<int64_t> n = ParseByteCount("--memory_limit", bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(n.status().message().find("--memory_limit"), std::string::npos)
        << n.status();
  }
}

TEST(FlagValuesTest, MemoryLimitSetsTheAllocatorsLimit) {
  const int64_t saved = CpuAllocator()->limit();
  ASSERT_TRUE(ApplyMemoryLimit("3G").ok());
  EXPECT_EQ(CpuAllocator()->limit(), int64_t{3} << 30);
  EXPECT_FALSE(ApplyMemoryLimit("lots").ok());
  EXPECT_EQ(CpuAllocator()->limit(), int64_t{3} << 30);
  CpuAllocator()->set_limit(saved);
}

}  // namespace
}  // namespace rill::tools
