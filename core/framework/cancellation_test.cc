#include "core/framework/cancellation.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(StepCancellationTest, CallbacksRunOnceWithTheFirstReason) {
  StepCancellation c;
  int runs = 0;
  absl::Status seen;
  c.AddCallback([&](const absl::Status& why) {
    ++runs;
    seen = why;
  });
  c.Cancel(absl::DeadlineExceededError("late"));
  c.Cancel(absl::AbortedError("again"));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(seen.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(c.cancelled());
}

TEST(StepCancellationTest, ARemovedCallbackNeverRuns) {
  StepCancellation c;
  bool ran = false;
  auto token = c.AddCallback([&](const absl::Status&) { ran = true; });
  c.RemoveCallback(token);
  c.Cancel(absl::CancelledError("x"));
  EXPECT_FALSE(ran);
}

TEST(StepCancellationTest, AddingAfterCancelRunsAtOnce) {
  StepCancellation c;
  c.Cancel(absl::OkStatus());
  absl::Status seen;
  c.AddCallback([&](const absl::Status& why) { seen = why; });
  EXPECT_EQ(seen.code(), absl::StatusCode::kCancelled);
}

TEST(StepCancellationTest, RemoveWaitsForARunningCallback) {
  StepCancellation c;
  absl::Notification started;
  std::atomic<bool> finished = false;
  auto token = c.AddCallback([&](const absl::Status&) {
    started.Notify();
    absl::SleepFor(absl::Milliseconds(100));
    finished = true;
  });
  std::thread canceller([&] { c.Cancel(absl::CancelledError("x")); });
  started.WaitForNotification();
  c.RemoveCallback(token);
  EXPECT_TRUE(finished);
  canceller.join();
}

}  // namespace
}  // namespace rill
