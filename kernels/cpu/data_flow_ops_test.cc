// Queues and conditional accumulators through a session, as
// SyncReplicasOptimizer drives them: order, batching, blocking until another
// step supplies what a wait needs, closing, cancellation by a step's
// deadline, stale gradients dropped, and the errors for bad input.
#include <thread>

#include "core/cc/ops.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

std::unique_ptr<Session> MakeSession(const Scope& root) {
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  EXPECT_TRUE(session.ok()) << session.status();
  return session.ok() ? *std::move(session) : nullptr;
}

// A queue of (int64 scalar, float [2]) elements with the usual ops.
struct QueueGraph {
  explicit QueueGraph(int64_t capacity = -1) {
    auto q =
        ops::FIFOQueueV2(root.WithOpName("q"), {DT_INT64, DT_FLOAT},
                         ops::FIFOQueueV2::Shapes({PartialTensorShape::Scalar(),
                                                   PartialTensorShape({2})})
                             .Capacity(capacity));
    auto ids = ops::Placeholder(root.WithOpName("ids"), DT_INT64);
    auto rows = ops::Placeholder(root.WithOpName("rows"), DT_FLOAT);
    auto id = ops::Placeholder(root.WithOpName("id"), DT_INT64);
    auto row = ops::Placeholder(root.WithOpName("row"), DT_FLOAT);
    ops::QueueEnqueueManyV2(root.WithOpName("enqueue_many"), q, {ids, rows});
    ops::QueueEnqueueV2(root.WithOpName("enqueue"), q, {id, row});
    ops::QueueDequeueV2(root.WithOpName("dequeue"), q, {DT_INT64, DT_FLOAT});
    auto n = ops::Placeholder(root.WithOpName("n"), DT_INT32);
    ops::QueueDequeueManyV2(root.WithOpName("dequeue_many"), q, n,
                            {DT_INT64, DT_FLOAT});
    ops::QueueDequeueUpToV2(root.WithOpName("dequeue_up_to"), q, n,
                            {DT_INT64, DT_FLOAT});
    ops::QueueSizeV2(root.WithOpName("size"), q);
    ops::QueueIsClosedV2(root.WithOpName("is_closed"), q);
    ops::QueueCloseV2(root.WithOpName("close"), q);
    ops::QueueCloseV2(root.WithOpName("close_cancel"), q,
                      ops::QueueCloseV2::CancelPendingEnqueues(true));
    session = MakeSession(root);
  }

  absl::Status Enqueue(int64_t id) {
    return session
        ->Run({{"id", Tensor::Scalar<int64_t>(id)},
               {"row", Tensor::FromVector<float>(
                           {static_cast<float>(id), -static_cast<float>(id)})}},
              {}, {"enqueue"})
        .status();
  }
  absl::Status EnqueueMany(const std::vector<int64_t>& ids) {
    std::vector<float> rows;
    for (int64_t i : ids) {
      rows.push_back(static_cast<float>(i));
      rows.push_back(-static_cast<float>(i));
    }
    return session
        ->Run({{"ids", Tensor::FromVector<int64_t>(ids)},
               {"rows",
                Tensor::FromVector<float>(
                    rows, TensorShape({static_cast<int64_t>(ids.size()), 2}))}},
              {}, {"enqueue_many"})
        .status();
  }
  int32_t Size() {
    auto got = session->Run({}, {"size"}, {});
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? (*got)[0].scalar<int32_t>() : -1;
  }

  Scope root = Scope::NewRootScope();
  std::unique_ptr<Session> session;
};

TEST(QueueTest, ElementsComeOutInOrderSingleAndBatched) {
  QueueGraph g;
  ASSERT_TRUE(g.EnqueueMany({1, 2, 3}).ok());
  ASSERT_TRUE(g.Enqueue(4).ok());
  EXPECT_EQ(g.Size(), 4);

  auto one = g.session->Run({}, {"dequeue:0", "dequeue:1"}, {});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE((*one)[0].Equals(Tensor::Scalar<int64_t>(1)));
  EXPECT_TRUE((*one)[1].Equals(Tensor::FromVector<float>({1, -1})));

  auto two = g.session->Run({{"n", Tensor::Scalar<int32_t>(2)}},
                            {"dequeue_many:0", "dequeue_many:1"}, {});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_TRUE((*two)[0].Equals(Tensor::FromVector<int64_t>({2, 3})));
  EXPECT_TRUE((*two)[1].Equals(
      Tensor::FromVector<float>({2, -2, 3, -3}, TensorShape({2, 2}))));
  EXPECT_EQ(g.Size(), 1);

  // Zero elements: an empty batch of the declared shapes, at once.
  auto none = g.session->Run({{"n", Tensor::Scalar<int32_t>(0)}},
                             {"dequeue_many:1"}, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ((*none)[0].shape(), TensorShape({0, 2}));
}

TEST(QueueTest, ADequeueWaitsForAnotherStepsEnqueue) {
  QueueGraph g;
  absl::StatusOr<std::vector<Tensor>> got;
  std::thread consumer([&] {
    got = g.session->Run({{"n", Tensor::Scalar<int32_t>(2)}},
                         {"dequeue_many:0"}, {});
  });
  ASSERT_TRUE(g.Enqueue(7).ok());
  ASSERT_TRUE(g.Enqueue(8).ok());
  consumer.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE((*got)[0].Equals(Tensor::FromVector<int64_t>({7, 8})));
  EXPECT_EQ(g.Size(), 0);
}

TEST(QueueTest, AFullQueueHoldsTheEnqueueUntilADequeueMakesRoom) {
  QueueGraph g(/*capacity=*/1);
  ASSERT_TRUE(g.Enqueue(1).ok());
  absl::Status second;
  std::thread producer([&] { second = g.Enqueue(2); });
  auto first = g.session->Run({}, {"dequeue:0"}, {});
  producer.join();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE((*first)[0].Equals(Tensor::Scalar<int64_t>(1)));
  ASSERT_TRUE(second.ok()) << second;
  auto next = g.session->Run({}, {"dequeue:0"}, {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE((*next)[0].Equals(Tensor::Scalar<int64_t>(2)));
}

TEST(QueueTest, ACancelledDequeueLeavesTheLine) {
  QueueGraph g;
  RunOptions options;
  options.timeout_in_ms = 100;
  auto timed_out = g.session->Run(options, {}, {"dequeue:0"}, {});
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded)
      << timed_out.status();
  // The element goes to the next dequeue, not to the one that gave up.
  ASSERT_TRUE(g.Enqueue(5).ok());
  auto got = g.session->Run({}, {"dequeue:0"}, {});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE((*got)[0].Equals(Tensor::Scalar<int64_t>(5)));
}

TEST(QueueTest, ClosingEndsWaitsAndRefusesEnqueues) {
  QueueGraph g;
  ASSERT_TRUE(g.EnqueueMany({1, 2}).ok());
  absl::StatusOr<std::vector<Tensor>> waiting;
  std::thread consumer([&] {
    waiting = g.session->Run({{"n", Tensor::Scalar<int32_t>(3)}},
                             {"dequeue_many:0"}, {});
  });
  // The dequeue of 3 waits (or, started late, finds the queue closed);
  // either way closing ends it and leaves the elements.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(g.session->Run({}, {}, {"close"}).ok());
  consumer.join();
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(waiting.status().message().find(
                "is closed and has insufficient elements (requested 3, "
                "current size 2)"),
            std::string::npos)
      << waiting.status();

  auto closed = g.session->Run({}, {"is_closed"}, {});
  ASSERT_TRUE(closed.ok());
  EXPECT_TRUE((*closed)[0].scalar<bool>());
  absl::Status late = g.Enqueue(9);
  EXPECT_EQ(late.code(), absl::StatusCode::kCancelled) << late;
  EXPECT_NE(late.message().find("FIFOQueue 'q' is closed"), std::string::npos)
      << late;

  // Up-to takes what is left once closed; then the queue is exhausted.
  auto rest = g.session->Run({{"n", Tensor::Scalar<int32_t>(3)}},
                             {"dequeue_up_to:0"}, {});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_TRUE((*rest)[0].Equals(Tensor::FromVector<int64_t>({1, 2})));
  auto empty = g.session->Run({}, {"dequeue:0"}, {});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(QueueTest, CloseWithCancelPendingEnqueuesEndsWaitingEnqueues) {
  QueueGraph g(/*capacity=*/1);
  ASSERT_TRUE(g.Enqueue(1).ok());
  absl::Status blocked;
  std::thread producer([&] { blocked = g.Enqueue(2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(g.session->Run({}, {}, {"close_cancel"}).ok());
  producer.join();
  EXPECT_EQ(blocked.code(), absl::StatusCode::kCancelled) << blocked;
  EXPECT_EQ(g.Size(), 1);
}

TEST(QueueTest, BadElementsAreRefusedNamingWhatIsWrong) {
  QueueGraph g;
  // A row of 3 floats where the queue holds rows of 2.
  auto wrong = g.session->Run({{"id", Tensor::Scalar<int64_t>(1)},
                               {"row", Tensor::FromVector<float>({1, 2, 3})}},
                              {}, {"enqueue"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("shape mismatch in component 1"),
            std::string::npos)
      << wrong.status();
  // Batches of different sizes.
  auto ragged = g.session->Run(
      {{"ids", Tensor::FromVector<int64_t>({1, 2})},
       {"rows", Tensor::FromVector<float>({1, 2}, TensorShape({1, 2}))}},
      {}, {"enqueue_many"});
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("different batch sizes"),
            std::string::npos)
      << ragged.status();
  auto negative = g.session->Run({{"n", Tensor::Scalar<int32_t>(-1)}},
                                 {"dequeue_many:0"}, {});
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Size(), 0);
}

// An accumulator of float [2] gradients, ref or resource form.
struct AccumulatorGraph {
  AccumulatorGraph(bool resource, const std::string& reduction = "MEAN") {
    auto step = ops::Placeholder(root.WithOpName("step"), DT_INT64);
    auto grad = ops::Placeholder(root.WithOpName("grad"), DT_FLOAT);
    auto n = ops::Placeholder(root.WithOpName("n"), DT_INT32);
    if (resource) {
      auto a = ops::ResourceConditionalAccumulator(
          root.WithOpName("acc"), DT_FLOAT, PartialTensorShape({2}),
          ops::ResourceConditionalAccumulator::ReductionType(reduction));
      ops::ResourceAccumulatorApplyGradient(root.WithOpName("apply"), a, step,
                                            grad);
      ops::ResourceAccumulatorTakeGradient(root.WithOpName("take"), a, n,
                                           DT_FLOAT);
      ops::ResourceAccumulatorNumAccumulated(root.WithOpName("count"), a);
      ops::ResourceAccumulatorSetGlobalStep(root.WithOpName("set_step"), a,
                                            step);
    } else {
      auto a = ops::ConditionalAccumulator(
          root.WithOpName("acc"), DT_FLOAT, PartialTensorShape({2}),
          ops::ConditionalAccumulator::ReductionType(reduction));
      ops::AccumulatorApplyGradient(root.WithOpName("apply"), a, step, grad);
      ops::AccumulatorTakeGradient(root.WithOpName("take"), a, n, DT_FLOAT);
      ops::AccumulatorNumAccumulated(root.WithOpName("count"), a);
      ops::AccumulatorSetGlobalStep(root.WithOpName("set_step"), a, step);
    }
    session = MakeSession(root);
  }

  absl::Status Apply(int64_t step, std::vector<float> grad) {
    return session
        ->Run({{"step", Tensor::Scalar<int64_t>(step)},
               {"grad", Tensor::FromVector<float>(grad)}},
              {}, {"apply"})
        .status();
  }
  absl::StatusOr<Tensor> Take(int32_t n) {
    auto got = session->Run({{"n", Tensor::Scalar<int32_t>(n)}}, {"take"}, {});
    if (!got.ok()) return got.status();
    return (*got)[0];
  }
  int32_t Count() {
    auto got = session->Run({}, {"count"}, {});
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? (*got)[0].scalar<int32_t>() : -1;
  }

  Scope root = Scope::NewRootScope();
  std::unique_ptr<Session> session;
};

class AccumulatorTest : public ::testing::TestWithParam<bool> {};

TEST_P(AccumulatorTest, AveragesThenDropsStaleGradients) {
  AccumulatorGraph g(GetParam());
  ASSERT_TRUE(g.Apply(0, {1, 2}).ok());
  ASSERT_TRUE(g.Apply(0, {3, 6}).ok());
  EXPECT_EQ(g.Count(), 2);
  auto mean = g.Take(2);
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_TRUE(mean->Equals(Tensor::FromVector<float>({2, 4})));
  // The take moved the global step to 1: a gradient of step 0 is stale.
  EXPECT_EQ(g.Count(), 0);
  ASSERT_TRUE(g.Apply(0, {100, 100}).ok());
  EXPECT_EQ(g.Count(), 0);
  ASSERT_TRUE(g.Apply(1, {5, 5}).ok());
  EXPECT_EQ(g.Count(), 1);
  // SetGlobalStep moves it explicitly.
  ASSERT_TRUE(
      g.session->Run({{"step", Tensor::Scalar<int64_t>(10)}}, {}, {"set_step"})
          .ok());
  ASSERT_TRUE(g.Apply(9, {7, 7}).ok());
  EXPECT_EQ(g.Count(), 1);
  ASSERT_TRUE(g.Apply(10, {7, 7}).ok());
  auto next = g.Take(2);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->Equals(Tensor::FromVector<float>({6, 6})));
}

TEST_P(AccumulatorTest, ATakeWaitsForEnoughGradients) {
  AccumulatorGraph g(GetParam(), "SUM");
  absl::StatusOr<Tensor> sum;
  std::thread taker([&] { sum = g.Take(3); });
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(g.Apply(0, {static_cast<float>(i), 1}).ok());
  }
  taker.join();
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_TRUE(sum->Equals(Tensor::FromVector<float>({6, 3})));
}

TEST_P(AccumulatorTest, BadInputIsRefused) {
  AccumulatorGraph g(GetParam());
  absl::Status shape = g.Apply(0, {1, 2, 3});
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(shape.message().find("gradient of shape [3]"), std::string::npos)
      << shape;
  auto zero = g.Take(0);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(zero.status().message().find("num_required must be positive"),
            std::string::npos)
      << zero.status();
  RunOptions options;
  options.timeout_in_ms = 100;
  auto waited = g.session->Run(options, {{"n", Tensor::Scalar<int32_t>(1)}},
                               {"take"}, {});
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kDeadlineExceeded)
      << waited.status();
  EXPECT_EQ(g.Count(), 0);
}

INSTANTIATE_TEST_SUITE_P(RefAndResource, AccumulatorTest, ::testing::Bool());

// IndexedSlices gradients: rows merged by index, each row's mean over the
// gradients that had it; rows of another shape refused.
TEST(SparseAccumulatorTest, MergesRowsByIndexAndAveragesEach) {
  Scope root = Scope::NewRootScope();
  auto a = ops::SparseConditionalAccumulator(root.WithOpName("acc"), DT_FLOAT,
                                             PartialTensorShape({5, 2}));
  auto step = ops::Placeholder(root.WithOpName("step"), DT_INT64);
  auto idx = ops::Placeholder(root.WithOpName("idx"), DT_INT64);
  auto vals = ops::Placeholder(root.WithOpName("vals"), DT_FLOAT);
  auto shape = ops::Const(root, Tensor::FromVector<int64_t>({5, 2}));
  ops::SparseAccumulatorApplyGradient(root.WithOpName("apply"), a, step, idx,
                                      vals, shape, true);
  ops::SparseAccumulatorTakeGradient(root.WithOpName("take"), a, 2, DT_FLOAT);
  ops::AccumulatorNumAccumulated(root.WithOpName("count"), a);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);
  auto apply = [&](int64_t s, std::vector<int64_t> i, std::vector<float> v) {
    const int64_t n = static_cast<int64_t>(i.size());
    return session
        ->Run({{"step", Tensor::Scalar<int64_t>(s)},
               {"idx", Tensor::FromVector<int64_t>(i)},
               {"vals", Tensor::FromVector<float>(v, TensorShape({n, 2}))}},
              {}, {"apply"})
        .status();
  };
  ASSERT_TRUE(apply(0, {0, 2}, {1, 1, 2, 2}).ok());
  ASSERT_TRUE(apply(0, {2, 3}, {4, 4, 8, 8}).ok());
  auto taken = session->Run({}, {"take:0", "take:1", "take:2"}, {});
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_TRUE((*taken)[0].Equals(Tensor::FromVector<int64_t>({0, 2, 3})));
  EXPECT_TRUE((*taken)[1].Equals(
      Tensor::FromVector<float>({1, 1, 3, 3, 8, 8}, TensorShape({3, 2}))));
  EXPECT_TRUE((*taken)[2].Equals(Tensor::FromVector<int64_t>({5, 2})));
  // After the take a gradient of step 0 is stale.
  ASSERT_TRUE(apply(0, {1}, {9, 9}).ok());
  auto count = session->Run({}, {"count"}, {});
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ((*count)[0].scalar<int32_t>(), 0);
  // Rows of three values, where the accumulator holds rows of two.
  auto wrong = session->Run(
      {{"step", Tensor::Scalar<int64_t>(1)},
       {"idx", Tensor::FromVector<int64_t>({1})},
       {"vals", Tensor::FromVector<float>({1, 2, 3}, TensorShape({1, 3}))}},
      {}, {"apply"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument)
      << wrong.status();
  // One row per index.
  auto ragged = session->Run(
      {{"step", Tensor::Scalar<int64_t>(1)},
       {"idx", Tensor::FromVector<int64_t>({1, 2})},
       {"vals", Tensor::FromVector<float>({1, 2}, TensorShape({1, 2}))}},
      {}, {"apply"});
  EXPECT_NE(ragged.status().message().find("one row per index"),
            std::string::npos)
      << ragged.status();
}

}  // namespace
}  // namespace rill
