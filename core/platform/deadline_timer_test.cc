#include "core/platform/deadline_timer.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(DeadlineTimerTest, RunsCallbacksInDeadlineOrder) {
  DeadlineTimer timer;
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification last;
  const absl::Time now = absl::Now();
  for (int i : {3, 1, 2}) {
    timer.Schedule(now + absl::Milliseconds(20 * i), [&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
      if (order.size() == 3) last.Notify();
    });
  }
  ASSERT_TRUE(last.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(absl::Now() - now, absl::Milliseconds(60));
}

TEST(DeadlineTimerTest, ACancelledCallbackNeverRuns) {
  DeadlineTimer timer;
  std::atomic<int> runs = 0;
  auto id =
      timer.Schedule(absl::Now() + absl::Milliseconds(50), [&] { ++runs; });
  EXPECT_TRUE(timer.Cancel(id));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(runs, 0);
  EXPECT_FALSE(timer.Cancel(id));  // Unknown now: nothing to wait for.
}

TEST(DeadlineTimerTest, CancelWaitsForARunningCallback) {
  DeadlineTimer timer;
  absl::Notification started;
  std::atomic<bool> finished = false;
  auto id = timer.Schedule(absl::Now(), [&] {
    started.Notify();
    absl::SleepFor(absl::Milliseconds(100));
    finished = true;
  });
  started.WaitForNotification();
  EXPECT_FALSE(timer.Cancel(id));
  EXPECT_TRUE(finished);
}

TEST(DeadlineTimerTest, AnEarlierDeadlineOvertakesAWaitingOne) {
  DeadlineTimer timer;
  absl::Notification early;
  auto late = timer.Schedule(absl::Now() + absl::Hours(1), [] {});
  const absl::Time start = absl::Now();
  timer.Schedule(absl::Now() + absl::Milliseconds(10), [&] { early.Notify(); });
  ASSERT_TRUE(early.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(timer.Cancel(late));
}

}  // namespace
}  // namespace rill
