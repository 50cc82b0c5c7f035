#include "runtime/rendezvous/local_rendezvous.h"

#include <thread>

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(LocalRendezvousTest, SendFirstOrRecvFirst) {
  LocalRendezvous r;
  const std::string key = Rendezvous::CreateKey("/job:a/device:CPU:0", 1,
                                                "/job:a/device:CPU:1", "t");
  EXPECT_NE(key.find(";0000000000000001;"), std::string::npos) << key;
  ASSERT_TRUE(r.Send(key, Tensor::Scalar(1.0f)).ok());
  float got = 0;
  r.RecvAsync(key, [&](const absl::Status& s, const Tensor& t, bool) {
    ASSERT_TRUE(s.ok());
    got = t.scalar<float>();
  });
  EXPECT_EQ(got, 1.0f);

  bool called = false;
  r.RecvAsync("k2", [&](const absl::Status& s, const Tensor& t, bool) {
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(t.scalar<int32_t>(), 7);
    called = true;
  });
  EXPECT_FALSE(called);
  ASSERT_TRUE(r.Send("k2", Tensor::Scalar<int32_t>(7)).ok());
  EXPECT_TRUE(called);
}

TEST(LocalRendezvousTest, DuplicateSendAndAbort) {
  LocalRendezvous r;
  ASSERT_TRUE(r.Send("k", Tensor::Scalar(1.0f)).ok());
  EXPECT_EQ(r.Send("k", Tensor::Scalar(1.0f)).code(),
            absl::StatusCode::kAlreadyExists);
  absl::Status seen;
  r.RecvAsync("waiting",
              [&](const absl::Status& s, const Tensor&, bool) { seen = s; });
  r.StartAbort(absl::UnavailableError("task died"));
  EXPECT_EQ(seen.code(), absl::StatusCode::kUnavailable);
  absl::Status later;
  r.RecvAsync("other",
              [&](const absl::Status& s, const Tensor&, bool) { later = s; });
  EXPECT_EQ(later.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.Send("x", Tensor::Scalar(1.0f)).code(),
            absl::StatusCode::kUnavailable);
}

TEST(LocalRendezvousTest, ManyThreads) {
  LocalRendezvous r;
  std::atomic<int> sum{0};
  std::thread sender([&] {
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(r.Send(std::to_string(i), Tensor::Scalar<int32_t>(i)).ok());
    }
  });
  for (int i = 0; i < 1000; ++i) {
    r.RecvAsync(std::to_string(i),
                [&](const absl::Status& s, const Tensor& t, bool) {
                  if (s.ok()) sum += t.scalar<int32_t>();
                });
  }
  sender.join();
  EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}

TEST(LocalRendezvousTest, CarriesDeadness) {
  LocalRendezvous r;
  ASSERT_TRUE(r.Send("early", Tensor(), /*is_dead=*/true).ok());
  bool early_dead = false;
  r.RecvAsync("early", [&](const absl::Status& s, const Tensor&, bool dead) {
    EXPECT_TRUE(s.ok());
    early_dead = dead;
  });
  EXPECT_TRUE(early_dead);
  bool late_dead = true;
  r.RecvAsync("late", [&](const absl::Status& s, const Tensor&, bool dead) {
    EXPECT_TRUE(s.ok());
    late_dead = dead;
  });
  ASSERT_TRUE(r.Send("late", Tensor::Scalar(1.0f)).ok());
  EXPECT_FALSE(late_dead);
}

}  // namespace
}  // namespace rill
