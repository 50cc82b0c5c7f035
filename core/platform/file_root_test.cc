#include "core/platform/file_root.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

class FileRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    base_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/file_root_test";
    ::mkdir(base_.c_str(), 0755);
    root_ = base_ + "/root";
    ::mkdir(root_.c_str(), 0755);
    ::mkdir((root_ + "/ckpt").c_str(), 0755);
    ::mkdir((base_ + "/outside").c_str(), 0755);
    ::unlink((root_ + "/escape").c_str());
    ASSERT_EQ(
        ::symlink((base_ + "/outside").c_str(), (root_ + "/escape").c_str()),
        0);
    ASSERT_TRUE(SetFileRoot(root_).ok());
  }
  void TearDown() override { ASSERT_TRUE(SetFileRoot("").ok()); }

  std::string base_, root_;
};

TEST_F(FileRootTest, PathsUnderTheRootAreAllowed) {
  EXPECT_TRUE(CheckUnderFileRoot(root_ + "/ckpt/model.ckpt").ok());
  EXPECT_TRUE(CheckUnderFileRoot(root_ + "/new/dir/model").ok());
  EXPECT_TRUE(CheckUnderFileRoot(root_ + "/ckpt/../model").ok());
  EXPECT_TRUE(CheckUnderFileRoot(root_).ok());
}

TEST_F(FileRootTest, DotDotAndLinksOutAreDenied) {
  for (const std::string& path :
       {root_ + "/../outside/x", root_ + "/ckpt/../../outside/x",
        root_ + "/missing/../../outside/x", root_ + "/escape/x",
        root_ + "/escape", std::string("/etc/passwd"), root_ + "x",
        std::string("relative/../../../../etc/passwd")}) {
    absl::Status s = CheckUnderFileRoot(path);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << path;
    EXPECT_NE(s.message().find("--file_root"), std::string::npos) << s;
  }
}

TEST_F(FileRootTest, RelativePathsResolveAgainstTheWorkingDirectory) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir((root_ + "/ckpt").c_str()), 0);
  EXPECT_TRUE(CheckUnderFileRoot("model.ckpt").ok());
  EXPECT_TRUE(CheckUnderFileRoot("../other").ok());
  EXPECT_FALSE(CheckUnderFileRoot("../../outside").ok());
  ASSERT_EQ(::chdir(cwd), 0);
}

TEST(FileRootSetTest, NoRootAllowsEverythingAndABadRootIsRefused) {
  ASSERT_TRUE(SetFileRoot("").ok());
  EXPECT_TRUE(CheckUnderFileRoot("/etc/passwd").ok());
  absl::Status s = SetFileRoot("/no/such/dir");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FileRoot(), "");
  EXPECT_EQ(*ResolvePath("/a/./b/../c"), "/a/c");
}

}  // namespace
}  // namespace rill
