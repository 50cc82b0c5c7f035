#include "core/platform/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::Status CheckPositive(int x) {
  return x > 0 ? absl::OkStatus() : absl::OutOfRangeError("not positive");
}

absl::StatusOr<int> Quarter(int x) {
  RETURN_IF_ERROR(CheckPositive(x));
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::StatusOr<std::unique_ptr<std::string>> MoveOnly(bool ok) {
  if (!ok) return absl::NotFoundError("none");
  return std::make_unique<std::string>("moved");
}

absl::StatusOr<std::string> UseMoveOnly(bool ok) {
  ASSIGN_OR_RETURN(std::unique_ptr<std::string> s, MoveOnly(ok));
  return *s;
}

TEST(StatusMacrosTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(-4).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_EQ(*UseMoveOnly(true), "moved");
  EXPECT_EQ(UseMoveOnly(false).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rill
