// GlooCollectiveExecutor with an in-process coordinator: each member is a
// device name calling RunAsync from its own thread, as kernels on several
// devices would.
#include "runtime/collective/gloo_executor.h"

#include <future>
#include <numeric>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::string Dev(int i) {
  return absl::StrCat("/job:worker/replica:0/task:", i, "/device:CPU:0");
}

class CollectiveTest : public ::testing::Test {
 protected:
  CollectiveTest() : client_(&coordinator_) {
    GlooExecutorOptions options;
    options.default_timeout = absl::Seconds(20);
    options.order_window = absl::Seconds(1);
    executor_ = std::make_unique<GlooCollectiveExecutor>(&client_, options);
  }

  // Runs one request per member at once and returns each member's result.
  std::vector<absl::StatusOr<Tensor>> RunAll(
      std::vector<CollectiveRequest> requests) {
    std::vector<std::promise<absl::StatusOr<Tensor>>> promises(requests.size());
    std::vector<std::future<absl::StatusOr<Tensor>>> futures;
    for (auto& p : promises) futures.push_back(p.get_future());
    for (size_t i = 0; i < requests.size(); ++i) {
      executor_->RunAsync(std::move(requests[i]),
                          [&promises, i](absl::StatusOr<Tensor> r) {
                            promises[i].set_value(std::move(r));
                          });
    }
    std::vector<absl::StatusOr<Tensor>> out;
    for (auto& f : futures) out.push_back(f.get());
    return out;
  }

  static CollectiveRequest Reduce(int member, int size, Tensor input,
                                  int instance = 1, int group = 1) {
    CollectiveRequest r;
    r.kind = CollectiveKind::kReduce;
    r.group_size = size;
    r.group_key = group;
    r.instance_key = instance;
    r.device = Dev(member);
    r.node = "reduce";
    r.dtype = input.dtype();
    r.shape = input.shape();
    r.input = std::move(input);
    r.allocator = CpuAllocator();
    return r;
  }

  CollectiveCoordinator coordinator_;
  LocalCoordinatorClient client_;
  std::unique_ptr<GlooCollectiveExecutor> executor_;
};

template <typename T>
Tensor Filled(int64_t n, T base) {
  std::vector<T> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<T>(base + i % 7);
  return Tensor::FromVector(v);
}

TEST_F(CollectiveTest, ReduceEveryMergeAndFinalOp) {
  for (int size : {2, 3}) {
    for (const char* merge : {"Add", "Mul", "Min", "Max"}) {
      for (const char* final_op : {"Id", "Div"}) {
        std::vector<CollectiveRequest> reqs;
        for (int m = 0; m < size; ++m) {
          auto r = Reduce(m, size, Tensor::FromVector<float>({1.f + m, 2.f}),
                          /*instance=*/7, /*group=*/size);
          r.merge_op = merge;
          r.final_op = final_op;
          reqs.push_back(r);
        }
        auto results = RunAll(reqs);
        float expect = 0;
        const std::string op = merge;
        for (int m = 0; m < size; ++m) {
          float v = 1.f + m;
          if (m == 0) {
            expect = v;
          } else if (op == "Add") {
            expect += v;
          } else if (op == "Mul") {
            expect *= v;
          } else if (op == "Min") {
            expect = std::min(expect, v);
          } else {
            expect = std::max(expect, v);
          }
        }
        if (std::string(final_op) == "Div") expect /= size;
        for (auto& r : results) {
          ASSERT_TRUE(r.ok()) << r.status();
          EXPECT_FLOAT_EQ(r->flat<float>()[0], expect) << merge << final_op;
        }
      }
    }
  }
}

TEST_F(CollectiveTest, ReduceDtypesAndSizes) {
  // 0, 1, odd and a size past the small-message algorithm (ring). One
  // after another, they take each path: inline in the round (what fits
  // the round's space, which follows the previous reduce's size), BCUBE,
  // and ring (past the largest inline space).
  for (int64_t n : {0, 1, 1001, 100000, 300000}) {
    std::vector<CollectiveRequest> reqs;
    for (int m = 0; m < 3; ++m)
      reqs.push_back(Reduce(m, 3, Filled<int64_t>(n, m)));
    auto results = RunAll(reqs);
    for (auto& r : results) {
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->NumElements(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(r->flat<int64_t>()[i], 3 * (i % 7) + 3) << i;
      }
    }
    reqs.clear();
    for (int m = 0; m < 3; ++m)
      reqs.push_back(Reduce(m, 3, Filled<double>(n, m)));
    for (auto& r : RunAll(reqs)) {
      ASSERT_TRUE(r.ok()) << r.status();
      if (n > 0)
        EXPECT_DOUBLE_EQ(r->flat<double>()[n - 1], 3 * ((n - 1) % 7) + 3);
    }
    reqs.clear();
    for (int m = 0; m < 3; ++m)
      reqs.push_back(Reduce(m, 3, Filled<int32_t>(n, m)));
    for (auto& r : RunAll(reqs)) {
      ASSERT_TRUE(r.ok()) << r.status();
      if (n > 0) EXPECT_EQ(r->flat<int32_t>()[n - 1], 3 * ((n - 1) % 7) + 3);
    }
  }
}

TEST_F(CollectiveTest, GatherConcatenatesInRankOrder) {
  std::vector<CollectiveRequest> reqs;
  for (int m = 0; m < 3; ++m) {
    // Member m gives m+1 rows of 2.
    std::vector<float> v(2 * (m + 1), static_cast<float>(m));
    auto r = Reduce(m, 3, Tensor::FromVector(v, TensorShape({m + 1, 2})));
    r.kind = CollectiveKind::kGather;
    reqs.push_back(r);
  }
  for (auto& r : RunAll(reqs)) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->shape(), TensorShape({6, 2}));
    std::vector<float> got(r->flat<float>().begin(), r->flat<float>().end());
    EXPECT_EQ(got, (std::vector<float>{0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}));
  }
}

TEST_F(CollectiveTest, BroadcastFromTheSender) {
  std::vector<CollectiveRequest> reqs;
  for (int m = 0; m < 3; ++m) {
    auto r = Reduce(m, 3, Tensor::FromVector<int32_t>({5, 6, 7}));
    if (m == 1) {
      r.kind = CollectiveKind::kBcastSend;
    } else {
      r.kind = CollectiveKind::kBcastRecv;
      r.dtype = DT_INT32;
      r.input = Tensor();
    }
    if (m != 1) r.shape = TensorShape({3});
    reqs.push_back(r);
  }
  for (auto& r : RunAll(reqs)) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->Equals(Tensor::FromVector<int32_t>({5, 6, 7})));
  }
}

TEST_F(CollectiveTest, InstancesReadyInDifferentOrdersDoNotDeadlock) {
  std::vector<CollectiveRequest> reqs;
  // Member 0 offers 1 then 2; member 1 offers 2 then 1.
  reqs.push_back(Reduce(0, 2, Tensor::FromVector<float>({1}), 1));
  reqs.push_back(Reduce(1, 2, Tensor::FromVector<float>({10}), 2));
  reqs.push_back(Reduce(0, 2, Tensor::FromVector<float>({2}), 2));
  reqs.push_back(Reduce(1, 2, Tensor::FromVector<float>({20}), 1));
  auto results = RunAll(reqs);
  for (auto& r : results) ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(results[0]->flat<float>()[0], 21);
  EXPECT_EQ(results[1]->flat<float>()[0], 12);
}

TEST_F(CollectiveTest, MismatchedShapesFailOnEveryMember) {
  auto results = RunAll({Reduce(0, 2, Tensor::FromVector<float>({1, 2})),
                         Reduce(1, 2, Tensor::FromVector<float>({1, 2, 3}))});
  for (auto& r : results) {
    ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << r.status();
    EXPECT_NE(r.status().message().find("instance 1"), std::string::npos);
    EXPECT_NE(r.status().message().find("shape"), std::string::npos);
    EXPECT_NE(r.status().message().find(Dev(1)), std::string::npos);
  }
  // The group still works afterwards.
  auto again = RunAll({Reduce(0, 2, Tensor::FromVector<float>({1}), 2),
                       Reduce(1, 2, Tensor::FromVector<float>({2}), 2)});
  for (auto& r : again) ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(CollectiveTest, MismatchedDtypesAndOpsFail) {
  auto a = Reduce(0, 2, Tensor::FromVector<float>({1}));
  auto b = Reduce(1, 2, Tensor::FromVector<double>({1}));
  for (auto& r : RunAll({a, b})) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("dtype"), std::string::npos);
  }
  a = Reduce(0, 2, Tensor::FromVector<float>({1}), 3);
  b = Reduce(1, 2, Tensor::FromVector<float>({1}), 3);
  b.merge_op = "Max";
  for (auto& r : RunAll({a, b})) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  b = Reduce(1, 2, Tensor::FromVector<float>({1}), 4);
  b.kind = CollectiveKind::kGather;
  a.instance_key = 4;
  for (auto& r : RunAll({a, b})) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("kind"), std::string::npos);
  }
}

TEST_F(CollectiveTest, MismatchedGroupSizeFailsAtOnce) {
  const absl::Time start = absl::Now();
  auto results = RunAll({Reduce(0, 2, Tensor::FromVector<float>({1}), 1, 9),
                         Reduce(1, 3, Tensor::FromVector<float>({1}), 1, 9)});
  for (auto& r : results) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << r.status();
    EXPECT_NE(r.status().message().find("group 9"), std::string::npos);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(CollectiveTest, DifferentOrderWithNoCommonInstanceFails) {
  // Each member waits on an instance the other never offers.
  auto results = RunAll({Reduce(0, 2, Tensor::FromVector<float>({1}), 1),
                         Reduce(1, 2, Tensor::FromVector<float>({1}), 2)});
  for (auto& r : results) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << r.status();
    EXPECT_NE(r.status().message().find("different orders"), std::string::npos);
  }
}

TEST_F(CollectiveTest, AMemberThatNeverComesTimesOut) {
  auto r = Reduce(0, 2, Tensor::FromVector<float>({1}));
  r.timeout_seconds = 0.5;
  auto results = RunAll({r});
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kDeadlineExceeded)
      << results[0].status();
}

}  // namespace
}  // namespace rill
