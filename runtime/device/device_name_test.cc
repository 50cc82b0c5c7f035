#include "runtime/device/device_name.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(DeviceNameTest, ParsesFullAndPartialNames) {
  auto full = DeviceName::Parse("/job:worker/replica:0/task:1/device:CPU:0");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(full->IsFullySpecified());
  EXPECT_EQ(full->job, "worker");
  EXPECT_EQ(full->task, 1);
  EXPECT_EQ(full->ToString(), "/job:worker/replica:0/task:1/device:CPU:0");
  EXPECT_EQ(full->TaskName(), "/job:worker/replica:0/task:1");

  auto ps = DeviceName::Parse("/job:ps");
  ASSERT_TRUE(ps.ok());
  EXPECT_TRUE(ps->has_job);
  EXPECT_FALSE(ps->has_task);
  auto legacy = DeviceName::Parse("/cpu:1");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->type, "CPU");
  EXPECT_EQ(legacy->id, 1);
  auto any_id = DeviceName::Parse("/device:GPU:*");
  ASSERT_TRUE(any_id.ok());
  EXPECT_TRUE(any_id->has_type);
  EXPECT_FALSE(any_id->has_id);
  EXPECT_TRUE(DeviceName::Parse("")->ToString().empty());
}

TEST(DeviceNameTest, RejectsMalformedNames) {
  for (const char* bad : {"job:ps", "/job:", "/task:x", "/device:CPU:-1",
                          "/bogus:1", "/job:9ps", "/device:CPU:0:1"}) {
    auto d = DeviceName::Parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find(bad), std::string::npos);
    }
  }
}

TEST(DeviceNameTest, MatchesAndMerges) {
  DeviceName cpu1 = DeviceName::Full("localhost", 0, 0, "CPU", 1);
  EXPECT_TRUE(cpu1.Matches(*DeviceName::Parse("/device:CPU:1")));
  EXPECT_TRUE(cpu1.Matches(*DeviceName::Parse("/cpu:1")));
  EXPECT_TRUE(cpu1.Matches(*DeviceName::Parse("/job:localhost")));
  EXPECT_TRUE(cpu1.Matches(*DeviceName::Parse("")));
  EXPECT_FALSE(cpu1.Matches(*DeviceName::Parse("/device:CPU:0")));
  EXPECT_FALSE(cpu1.Matches(*DeviceName::Parse("/job:ps")));
  EXPECT_FALSE(cpu1.Matches(*DeviceName::Parse("/device:GPU:1")));

  DeviceName a = *DeviceName::Parse("/job:ps");
  ASSERT_TRUE(a.MergeFrom(*DeviceName::Parse("/task:2/device:CPU:0")).ok());
  EXPECT_EQ(a.ToString(), "/job:ps/task:2/device:CPU:0");
  auto conflict = a.MergeFrom(*DeviceName::Parse("/job:worker"));
  EXPECT_FALSE(conflict.ok());
  EXPECT_NE(conflict.message().find("job"), std::string::npos);
}

}  // namespace
}  // namespace rill
