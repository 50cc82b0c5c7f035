// The AllReduceOptimizer as `rill train` and a user's C++ program use it:
// one model replica per device of a local session, gradients averaged with
// collectives, initial variables broadcast from rank 0.
#include "runtime/training/allreduce_optimizer.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

constexpr int kFeatures = 5, kHidden = 7, kClasses = 3;

// A small MLP under `s`: x [-1, 5] -> relu(x w1 + b1) w2 + b2 -> softmax
// cross-entropy with labels y. Variables start from `seed`.
Output Mlp(const Scope& s, int seed, std::vector<Operation>* inits) {
  auto x = ops::Placeholder(s.WithOpName("x"), DT_FLOAT);
  auto y = ops::Placeholder(s.WithOpName("y"), DT_INT64);
  auto var = [&](const std::string& name, const std::vector<int64_t>& dims) {
    auto v = ops::VariableV2(s.WithOpName(name),
                             *PartialTensorShape::Create(dims), DT_FLOAT);
    auto init = ops::Mul(s,
                         ops::RandomStandardNormal(
                             s, Tensor::FromVector<int64_t>(dims), DT_FLOAT,
                             ops::RandomStandardNormal::Seed(seed)),
                         0.5f);
    inits->push_back(ops::Assign(s, v, init).operation);
    return Output(v);
  };
  Output w1 = var("w1", {kFeatures, kHidden});
  Output b1 = var("b1", {kHidden});
  Output w2 = var("w2", {kHidden, kClasses});
  Output b2 = var("b2", {kClasses});
  auto h = ops::Relu(s, ops::BiasAdd(s, ops::MatMul(s, x, w1), b1));
  auto logits = ops::BiasAdd(s, ops::MatMul(s, h, w2), b2);
  auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(s, logits, y);
  return ops::Mean(s.WithOpName("loss"), xent.loss, {0});
}

struct Batch {
  Tensor x, y;
};

// Rows [begin, end) of a fixed random data set.
Batch Rows(int begin, int end) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int r = 0; r < end; ++r) {
    for (int f = 0; f < kFeatures; ++f) {
      const float v = normal(rng);
      if (r >= begin) x.push_back(v);
    }
    const int64_t label = static_cast<int64_t>(rng() % kClasses);
    if (r >= begin) y.push_back(label);
  }
  const int64_t n = end - begin;
  return {Tensor::FromVector<float>(x, TensorShape({n, kFeatures})),
          Tensor::FromVector<int64_t>(y, TensorShape({n}))};
}

enum class Kind { kSgd, kAdam };

std::unique_ptr<Optimizer> MakeInner(Kind kind) {
  if (kind == Kind::kAdam) return std::make_unique<AdamOptimizer>(0.05);
  return std::make_unique<GradientDescentOptimizer>(0.5);
}

// `replicas` copies of the MLP on as many devices, each with its own
// initial values; trains `steps` steps on a global batch of 12 rows split
// evenly; returns replica 0's variables (every replica's when `all`).
std::vector<Tensor> Train(int replicas, Kind kind, int64_t fusion_bytes,
                          int steps, bool all = false,
                          std::vector<int64_t>* buckets = nullptr) {
  Scope root = Scope::NewRootScope();
  std::vector<std::string> trains, syncs, inits, fetches;
  for (int r = 0; r < replicas; ++r) {
    Scope s = root.NewSubScope(absl::StrCat("replica_", r))
                  .WithDevice(absl::StrCat("/device:CPU:", r));
    std::vector<Operation> model_inits;
    Output loss = Mlp(s, /*seed=*/r + 1, &model_inits);
    AllReduceOptimizer opt(MakeInner(kind), {.group_size = replicas,
                                             .fusion_bytes = fusion_bytes});
    auto train = opt.Minimize(s, loss);
    EXPECT_TRUE(train.ok()) << train.status();
    if (!train.ok()) return {};
    if (buckets != nullptr && r == 0) *buckets = opt.bucket_bytes();
    for (const Operation& op : opt.initializers()) model_inits.push_back(op);
    auto init =
        ops::NoOp(s.WithOpName("init").WithControlDependencies(model_inits));
    auto sync = opt.BroadcastVariables(
        s, VariablesUnder(*root.graph(), absl::StrCat("replica_", r)), r);
    EXPECT_TRUE(sync.ok()) << sync.status();
    if (!sync.ok()) return {};
    trains.push_back(train->name());
    syncs.push_back(sync->name());
    inits.push_back(init.operation.name());
    if (r == 0 || all) {
      for (const char* v : {"w1", "b1", "w2", "b2"}) {
        fetches.push_back(absl::StrCat("replica_", r, "/", v));
      }
    }
  }
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  SessionOptions options;
  options.num_cpu_devices = replicas;
  auto session = Session::Create(def, options);
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return {};
  // Every replica initializes (to different values), then rank 0's win.
  EXPECT_TRUE((*session)->Run({}, {}, inits).ok());
  auto synced = (*session)->Run({}, {}, syncs);
  EXPECT_TRUE(synced.ok()) << synced.status();
  const int per = 12 / replicas;
  for (int step = 0; step < steps; ++step) {
    std::vector<std::pair<std::string, Tensor>> feeds;
    for (int r = 0; r < replicas; ++r) {
      Batch b = Rows(step * 12 + r * per, step * 12 + (r + 1) * per);
      feeds.emplace_back(absl::StrCat("replica_", r, "/x"), b.x);
      feeds.emplace_back(absl::StrCat("replica_", r, "/y"), b.y);
    }
    auto ran = (*session)->Run(feeds, {}, trains);
    EXPECT_TRUE(ran.ok()) << ran.status();
    if (!ran.ok()) return {};
  }
  auto values = (*session)->Run({}, fetches, {});
  EXPECT_TRUE(values.ok()) << values.status();
  return values.ok() ? *values : std::vector<Tensor>{};
}

void ExpectNear(const std::vector<Tensor>& a, const std::vector<Tensor>& b,
                const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].NumElements(), b[i].NumElements()) << what;
    for (int64_t j = 0; j < a[i].NumElements(); ++j) {
      EXPECT_NEAR(a[i].flat<float>()[j], b[i].flat<float>()[j], 2e-5)
          << what << ": variable " << i << " element " << j;
    }
  }
}

// Data parallelism with the same global batch is the same training as one
// process: the mean of the replicas' mean gradients is the batch's mean
// gradient. Every fusion size gives the same result.
TEST(AllReduceOptimizerTest, ReplicasTrainAsOneProcess) {
  for (Kind kind : {Kind::kSgd, Kind::kAdam}) {
    const std::vector<Tensor> one = Train(1, kind, 64 << 20, 4);
    ASSERT_EQ(one.size(), 4u);
    for (int replicas : {2, 3}) {
      for (int64_t fusion : {int64_t{0}, int64_t{100}, int64_t{64} << 20}) {
        ExpectNear(Train(replicas, kind, fusion, 4), one,
                   absl::StrCat(replicas, " replicas, fusion ", fusion,
                                kind == Kind::kAdam ? " adam" : " sgd"));
      }
    }
  }
}

TEST(AllReduceOptimizerTest, EveryReplicaEndsWithTheSameVariables) {
  const std::vector<Tensor> all = Train(3, Kind::kAdam, 100, 3, /*all=*/true);
  ASSERT_EQ(all.size(), 12u);
  for (int r = 1; r < 3; ++r) {
    ExpectNear({all.begin() + 4 * r, all.begin() + 4 * r + 4},
               {all.begin(), all.begin() + 4}, absl::StrCat("replica ", r));
  }
}

// Buckets fill in the backward pass's order (b2, w2, b1, w1 = 12, 84, 28,
// 140 bytes) up to fusion_bytes.
TEST(AllReduceOptimizerTest, FusionBucketsFollowTheBackwardPass) {
  std::vector<int64_t> buckets;
  Train(2, Kind::kSgd, 0, 0, false, &buckets);
  EXPECT_EQ(buckets, (std::vector<int64_t>{12, 84, 28, 140}));
  Train(2, Kind::kSgd, 100, 0, false, &buckets);
  EXPECT_EQ(buckets, (std::vector<int64_t>{96, 28, 140}));
  Train(2, Kind::kSgd, 64 << 20, 0, false, &buckets);
  EXPECT_EQ(buckets, (std::vector<int64_t>{264}));
}

// Model averaging: two replicas on two devices of one session, a ref and a
// resource variable each, set to the mean of the two (in one fused bucket).
TEST(AllReduceOptimizerTest, AverageVariablesSetsEachToTheGroupMean) {
  Scope root = Scope::NewRootScope();
  std::vector<std::string> averages, reads;
  std::vector<Operation> inits;
  int64_t bytes = 0;
  for (int rank = 0; rank < 2; ++rank) {
    Scope s = root.NewSubScope(absl::StrCat("r", rank))
                  .WithDevice(absl::StrCat("/device:CPU:", rank));
    auto w =
        ops::VariableV2(s.WithOpName("w"), PartialTensorShape({2}), DT_FLOAT);
    auto b =
        ops::VarHandleOp(s.WithOpName("b"), DT_FLOAT, PartialTensorShape({}));
    const float base = rank == 0 ? 1.0f : 3.0f;
    inits.push_back(
        ops::Assign(s, w, ops::Const(s, {base, 10 * base})).operation);
    inits.push_back(ops::AssignVariableOp(s, b, ops::Const(s, -base)));
    AllReduceOptimizer opt(GradientDescentOptimizer(0.1), {.group_size = 2});
    auto average = opt.AverageVariables(s, {w, b});
    ASSERT_TRUE(average.ok()) << average.status();
    averages.push_back(average->name());
    bytes = opt.averaged_bytes();
    ops::Identity(s.WithOpName("read_w"), w);
    ops::ReadVariableOp(s.WithOpName("read_b"), b, DT_FLOAT);
    reads.push_back(absl::StrCat("r", rank, "/read_w"));
    reads.push_back(absl::StrCat("r", rank, "/read_b"));
  }
  EXPECT_EQ(bytes, 12);  // Three floats in one bucket.
  ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def, {.num_cpu_devices = 2});
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  ASSERT_TRUE((*session)->Run({}, {}, averages).ok());
  auto got = (*session)->Run({}, reads, {});
  ASSERT_TRUE(got.ok()) << got.status();
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE((*got)[2 * rank].Equals(Tensor::FromVector<float>({2, 20})))
        << (*got)[2 * rank].DebugString();
    EXPECT_EQ((*got)[2 * rank + 1].scalar<float>(), -2.0f);
  }
}

TEST(AllReduceOptimizerTest, BadOptionsAreClearErrors) {
  Scope root = Scope::NewRootScope();
  std::vector<Operation> inits;
  Output loss = Mlp(root, 1, &inits);
  AllReduceOptimizer no_group(GradientDescentOptimizer(0.1), {});
  auto train = no_group.Minimize(root, loss);
  ASSERT_FALSE(train.ok());
  EXPECT_NE(train.status().message().find("group_size"), std::string::npos);

  AllReduceOptimizer opt(GradientDescentOptimizer(0.1), {.group_size = 2});
  auto bad_rank =
      opt.BroadcastVariables(root, VariablesUnder(*root.graph()), 2);
  EXPECT_EQ(bad_rank.status().code(), absl::StatusCode::kInvalidArgument);
  auto not_var = opt.BroadcastVariables(root, {loss}, 0);
  EXPECT_NE(not_var.status().message().find("not a variable"),
            std::string::npos)
      << not_var.status();
  auto unknown = ops::VariableV2(root.WithOpName("unknown"),
                                 PartialTensorShape({-1}), DT_FLOAT);
  auto partial = opt.BroadcastVariables(root, {unknown}, 1);
  EXPECT_NE(partial.status().message().find("fully defined"), std::string::npos)
      << partial.status();
}

}  // namespace
}  // namespace rill
