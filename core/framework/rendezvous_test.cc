#include "core/framework/rendezvous.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(RendezvousKeyTest, ParseUndoesCreate) {
  const std::string key = Rendezvous::CreateKey(
      "/job:ps/replica:0/task:1/device:CPU:0", 0x1234abcd,
      "/job:worker/replica:0/task:0/device:CPU:0", "w/read:0");
  auto parsed = Rendezvous::ParseKey(key);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->send_device, "/job:ps/replica:0/task:1/device:CPU:0");
  EXPECT_EQ(parsed->send_device_incarnation, 0x1234abcdu);
  EXPECT_EQ(parsed->recv_device, "/job:worker/replica:0/task:0/device:CPU:0");
  EXPECT_EQ(parsed->tensor_name, "w/read:0");
  EXPECT_EQ(parsed->frame_iter, "0:0");
}

TEST(RendezvousKeyTest, MalformedKeysAreNamed) {
  for (const char* bad :
       {"", "a;b", "/d;zz;/e;t;0:0", "/d;1;/e;t", ";1;/e;t;0:0", "/d;1;;t;0:0",
        "/d;1;/e;;0:0", "/d;1;/e;t;0:0;extra"}) {
    auto parsed = Rendezvous::ParseKey(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(std::string("'") + bad + "'"),
              std::string::npos)
        << parsed.status();
  }
}

}  // namespace
}  // namespace rill
