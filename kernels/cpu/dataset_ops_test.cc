// Datasets and iterators through a session, as tf.data graphs run them:
// an initializer step, then one element per step. (The TensorFlow-written
// dataset graphs of tests/testdata/tf_graphs check the same against
// TensorFlow's values, the seeded shuffle's order among them.)
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

const std::vector<DataType> kInt64 = {DT_INT64};
const std::vector<PartialTensorShape> kAnyShape = {PartialTensorShape()};

Output Int64(const Scope& s, int64_t v) {
  return ops::Const(s, Tensor::Scalar<int64_t>(v));
}
Output Range(const Scope& s, int64_t start, int64_t stop, int64_t step) {
  return ops::RangeDataset(s, Int64(s, start), Int64(s, stop), Int64(s, step),
                           kInt64, kAnyShape);
}

// A session over an iterator of the dataset `build` makes: "init" makes
// the iterator, "next" fetches an element.
// The elements have components of `types`; "next" fetches the first.
class Walk {
 public:
  explicit Walk(const std::function<Output(const Scope&)>& build,
                bool initialize = true,
                const std::vector<DataType>& types = kInt64) {
    Scope root = Scope::NewRootScope();
    const std::vector<PartialTensorShape> shapes(types.size());
    auto it = ops::IteratorV2(root.WithOpName("it"), "", "", types, shapes);
    ops::MakeIterator(root.WithOpName("init"), build(root), it);
    ops::Identity(root.WithOpName("next"),
                  ops::IteratorGetNext(root, it, types, shapes).components[0]);
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
    auto session = Session::Create(def);
    EXPECT_TRUE(session.ok()) << session.status();
    session_ = *std::move(session);
    if (initialize) {
      absl::Status s = session_->Run({}, {}, {"init"}).status();
      EXPECT_TRUE(s.ok()) << s;
    }
  }
  absl::StatusOr<Tensor> Next() {
    ASSIGN_OR_RETURN(std::vector<Tensor> got, session_->Run({}, {"next"}, {}));
    return got[0];
  }
  // The scalar elements up to the end of the sequence.
  std::vector<int64_t> All() {
    std::vector<int64_t> out;
    while (true) {
      absl::StatusOr<Tensor> t = Next();
      if (!t.ok()) {
        EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange)
            << t.status();
        EXPECT_EQ(t.status().message(), "End of sequence");
        return out;
      }
      for (int64_t v : t->flat<int64_t>()) out.push_back(v);
      if (out.size() > 1000) return out;  // A runaway walk.
    }
  }

 private:
  std::unique_ptr<Session> session_;
};

TEST(DatasetOpsTest, RangesRepeatTakeAndSkip) {
  EXPECT_EQ(Walk([](const Scope& s) { return Range(s, 0, 5, 2); }).All(),
            (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(Walk([](const Scope& s) { return Range(s, 3, 0, -1); }).All(),
            (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(Walk([](const Scope& s) {
              return ops::TakeDataset(
                  s,
                  ops::SkipDataset(
                      s,
                      ops::RepeatDataset(s, Range(s, 0, 3, 1), Int64(s, -1),
                                         kInt64, kAnyShape),
                      Int64(s, 2), kInt64, kAnyShape),
                  Int64(s, 5), kInt64, kAnyShape);
            }).All(),
            (std::vector<int64_t>{2, 0, 1, 2, 0}));
  // Repeating an empty dataset forever ends instead of spinning.
  EXPECT_EQ(Walk([](const Scope& s) {
              return ops::RepeatDataset(s, Range(s, 0, 0, 1), Int64(s, -1),
                                        kInt64, kAnyShape);
            }).All(),
            std::vector<int64_t>{});
}

TEST(DatasetOpsTest, BatchesKeepOrDropTheRemainder) {
  auto batched = [](bool drop) {
    return [drop](const Scope& s) {
      return ops::BatchDatasetV2(s, Range(s, 0, 5, 1), Int64(s, 2),
                                 ops::Const(s, drop), kInt64, kAnyShape);
    };
  };
  EXPECT_EQ(Walk(batched(false)).All(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Walk(batched(true)).All(), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(DatasetOpsTest, ZipUnbatchPaddedBatchCacheAndPrefetch) {
  const std::vector<DataType> two = {DT_INT64, DT_INT64};
  const std::vector<PartialTensorShape> two_shapes(2);
  // Zip stops at the shorter input, whichever it is.
  EXPECT_EQ(Walk(
                [&](const Scope& s) {
                  return ops::ZipDataset(
                      s, {Range(s, 10, 20, 1), Range(s, 0, 3, 1)}, two,
                      two_shapes);
                },
                true, two)
                .All(),
            (std::vector<int64_t>{10, 11, 12}));
  auto pairs = [](const Scope& s, int64_t n) {
    return ops::BatchDatasetV2(s, Range(s, 0, n, 1), Int64(s, 2),
                               ops::Const(s, false), kInt64, kAnyShape);
  };
  EXPECT_EQ(Walk([&](const Scope& s) {
              return ops::UnbatchDataset(s, pairs(s, 5), kInt64, kAnyShape);
            }).All(),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // [0 1] [2 3] [4] padded to 3 with -1, two per batch.
  auto padded = [&](const Scope& s, int64_t to) {
    return ops::PaddedBatchDatasetV2(
        s, pairs(s, 5), Int64(s, 2), {ops::Const(s, {to})},
        {ops::Const(s, Tensor::Scalar<int64_t>(-1))}, ops::Const(s, false),
        kAnyShape);
  };
  EXPECT_EQ(Walk([&](const Scope& s) { return padded(s, 3); }).All(),
            (std::vector<int64_t>{0, 1, -1, 2, 3, -1, 4, -1, -1}));
  // -1: as long as the longest of the batch.
  EXPECT_EQ(Walk([&](const Scope& s) { return padded(s, -1); }).All(),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  Walk too_long([&](const Scope& s) { return padded(s, 1); });
  absl::Status s = too_long.Next().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(
      s.message(), "larger than its padded shape in dimension 0 (1)"))
      << s;
  // A cache filled by the first pass is replayed by the second.
  EXPECT_EQ(
      Walk([](const Scope& s) {
        auto cached =
            ops::CacheDataset(s, Range(s, 0, 3, 1),
                              ops::Const(s, std::string()), kInt64, kAnyShape);
        return ops::RepeatDataset(s, cached, Int64(s, 2), kInt64, kAnyShape);
      }).All(),
      (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(Walk([](const Scope& s) {
              return ops::PrefetchDataset(s, Range(s, 0, 3, 1), Int64(s, -1),
                                          kInt64, kAnyShape);
            }).All(),
            (std::vector<int64_t>{0, 1, 2}));
  // Rows of components that do not share a first dimension.
  Walk ragged(
      [&](const Scope& s) {
        return ops::UnbatchDataset(
            s,
            ops::ZipDataset(
                s,
                {pairs(s, 4),
                 ops::BatchDatasetV2(s, Range(s, 0, 3, 1), Int64(s, 3),
                                     ops::Const(s, false), kInt64, kAnyShape)},
                two, two_shapes),
            two, two_shapes);
      },
      true, two);
  s = ragged.Next().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "component 1 of shape [3]")) << s;
}

TEST(DatasetOpsTest, ErrorsAreClear) {
  // GetNext before the initializer ran.
  Walk idle([](const Scope& s) { return Range(s, 0, 3, 1); },
            /*initialize=*/false);
  absl::Status uninitialized = idle.Next().status();
  EXPECT_EQ(uninitialized.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      absl::StrContains(uninitialized.message(), "has not been initialized"))
      << uninitialized;

  auto fails_to_init = [](const std::function<Output(const Scope&)>& build,
                          const std::string& needle) {
    Scope root = Scope::NewRootScope();
    auto it = ops::IteratorV2(root.WithOpName("it"), "", "", kInt64, kAnyShape);
    ops::MakeIterator(root.WithOpName("init"), build(root), it);
    ::tensorflow::GraphDef def;
    ASSERT_TRUE(root.ToGraphDef(&def).ok());
    auto session = Session::Create(def);
    ASSERT_TRUE(session.ok());
    absl::Status s = (*session)->Run({}, {}, {"init"}).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), needle)) << s;
  };
  fails_to_init([](const Scope& s) { return Range(s, 0, 3, 0); },
                "step must not be zero");
  fails_to_init(
      [](const Scope& s) {
        return ops::BatchDatasetV2(s, Range(s, 0, 3, 1), Int64(s, 0),
                                   ops::Const(s, false), kInt64, kAnyShape);
      },
      "batch_size must be greater than zero");
  fails_to_init(
      [](const Scope& s) {
        return ops::TensorSliceDataset(
            s, {ops::Const(s, {1, 2}), ops::Const(s, {1, 2, 3})},
            {PartialTensorShape(), PartialTensorShape()});
      },
      "cannot be sliced along a first dimension of 2");
  fails_to_init(
      [](const Scope& s) {
        return ops::PrefetchDataset(s, Range(s, 0, 3, 1), Int64(s, -2), kInt64,
                                    kAnyShape);
      },
      "buffer_size must be >= 0 or -1 (AUTOTUNE), got -2");
  // A cache in files is refused, naming the file.
  Scope root = Scope::NewRootScope();
  auto cached = ops::CacheDataset(
      root.WithOpName("cached"), Range(root, 0, 3, 1),
      ops::Const(root, std::string("/tmp/cache")), kInt64, kAnyShape);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok());
  absl::Status s = (*session)->Run({}, {}, {"cached"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "'/tmp/cache'")) << s;
}

TEST(DatasetOpsTest, StringHandlesNameTheIterator) {
  Scope root = Scope::NewRootScope();
  auto it = ops::IteratorV2(root.WithOpName("it"), "", "", kInt64, kAnyShape);
  ops::MakeIterator(root.WithOpName("init"), Range(root, 7, 9, 1), it);
  ops::IteratorToStringHandle(root.WithOpName("handle"), it);
  auto name = ops::Placeholder(root.WithOpName("name"), DT_STRING);
  auto from = ops::IteratorFromStringHandleV2(root, name);
  ops::Identity(
      root.WithOpName("next"),
      ops::IteratorGetNext(root, from, kInt64, kAnyShape).components[0]);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  auto handle = (*session)->Run({}, {"handle"}, {"init"});
  ASSERT_TRUE(handle.ok()) << handle.status();
  auto next = (*session)->Run({{"name", (*handle)[0]}}, {"next"}, {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)[0].scalar<int64_t>(), 7);
  auto bad = (*session)->Run(
      {{"name", Tensor::Scalar<std::string>("not a handle")}}, {"next"}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill
