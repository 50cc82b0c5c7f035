#include "runtime/training/events_writer.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace rill {
namespace {

std::string TempDir() {
  std::string dir = std::string(std::getenv("TEST_TMPDIR") != nullptr
                                    ? std::getenv("TEST_TMPDIR")
                                    : "/tmp") +
                    "/events_XXXXXX";
  return ::mkdtemp(dir.data());
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(EventsWriterTest, WritesVersionThenScalarsThatReadBack) {
  const std::string dir = TempDir() + "/run/a";  // Made by Create.
  auto writer = EventsWriter::Create(dir);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->path().rfind(dir + "/events.out.tfevents.", 0), 0u);
  ASSERT_TRUE((*writer)->Scalar("loss", 1, 0.5).ok());
  ASSERT_TRUE((*writer)->Scalar("accuracy", 7, 0.25).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  auto events = ReadEvents((*writer)->path());
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].file_version(), "brain.Event:2");
  EXPECT_GT((*events)[0].wall_time(), 1.7e9);
  EXPECT_EQ((*events)[1].step(), 1);
  ASSERT_EQ((*events)[1].summary().value_size(), 1);
  EXPECT_EQ((*events)[1].summary().value(0).tag(), "loss");
  EXPECT_EQ((*events)[1].summary().value(0).simple_value(), 0.5f);
  EXPECT_EQ((*events)[2].step(), 7);
  EXPECT_EQ((*events)[2].summary().value(0).tag(), "accuracy");
  EXPECT_GE((*events)[2].wall_time(), (*events)[1].wall_time());
}

TEST(EventsWriterTest, RecordFramingIsTfRecords) {
  auto writer = EventsWriter::Create(TempDir());
  ASSERT_TRUE(writer.ok()) << writer.status();
  const size_t before = Contents((*writer)->path()).size();
  ASSERT_TRUE((*writer)->Write(::tensorflow::Event()).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  // An empty Event: a zero length, its checksum, no data, and the masked
  // CRC-32C of no bytes, which is the mask's constant 0xa282ead8.
  const std::string record = Contents((*writer)->path()).substr(before);
  ASSERT_EQ(record.size(), 16u);
  EXPECT_EQ(record.substr(0, 8), std::string(8, '\0'));
  EXPECT_EQ(record.substr(12), std::string("\xd8\xea\x82\xa2", 4));
}

TEST(EventsWriterTest, TwoWritersInOneDirectoryGetTwoFiles) {
  const std::string dir = TempDir();
  auto a = EventsWriter::Create(dir);
  auto b = EventsWriter::Create(dir);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->path(), (*b)->path());
}

TEST(EventsWriterTest, DamageIsDataLossNamingTheOffset) {
  std::string path;
  {
    auto writer = EventsWriter::Create(TempDir());
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Scalar("loss", 1, 2.0).ok());
    path = (*writer)->path();
  }
  const std::string good = Contents(path);
  std::string flipped = good;
  flipped[good.size() - 6] ^= 0x10;  // In the last record's data.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  auto events = ReadEvents(path);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(events.status().message().find("fails its checksum"),
            std::string::npos);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << good.substr(0, good.size() - 3);
  events = ReadEvents(path);
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.status().message().find("cut short at byte"),
            std::string::npos)
      << events.status();
}

TEST(EventsWriterTest, ADirectoryThatIsAFileIsAnError) {
  const std::string file = TempDir() + "/plain";
  std::ofstream(file) << "x";
  auto writer = EventsWriter::Create(file);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(writer.status().message().find(file), std::string::npos);
  writer = EventsWriter::Create(file + "/below");
  ASSERT_FALSE(writer.ok());
}

}  // namespace
}  // namespace rill
