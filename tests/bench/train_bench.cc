// Benchmark: training throughput of the MLP 784-512-512-10 at batch 256
// built as a user builds it: the forward pass with the C++ API, then
// Optimizer::Minimize (symbolic gradients, one Apply* per variable, the
// global step). Two optimizers: plain SGD (GradientDescent) and Adam.
//
//   bazel run -c opt //tests/bench:train_bench
//   bazel-bin/tests/bench/train_bench --write_dir=/tmp/g
//     (writes train_sgd.pb and train_adam.pb for tests/bench/train_vs_tf.py)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "runtime/session/session.h"
#include "runtime/training/optimizer.h"

namespace rill {
namespace {

constexpr int kBatch = 256;
constexpr int kIn = 784, kHidden = 512, kOut = 10;

Output Dense(const Scope& s, const Output& x, int n_in, int n_out,
             std::vector<Operation>* inits) {
  auto w = ops::VariableV2(s.WithOpName("w"), PartialTensorShape({n_in, n_out}),
                           DT_FLOAT);
  auto b =
      ops::VariableV2(s.WithOpName("b"), PartialTensorShape({n_out}), DT_FLOAT);
  const float limit = std::sqrt(6.0f / (n_in + n_out));
  auto u = ops::RandomUniform(s, {n_in, n_out}, DT_FLOAT,
                              ops::RandomUniform::Seed(1).Seed2(n_in));
  inits->push_back(
      ops::Assign(s, w,
                  ops::Mul(s, ops::Sub(s, ops::Mul(s, u, 2.0f), 1.0f), limit))
          .operation);
  inits->push_back(ops::Assign(s, b, ops::Fill(s, {n_out}, 0.0f)).operation);
  return ops::BiasAdd(s, ops::MatMul(s, x, w), b);
}

// The training graph: "init" initializes everything, "train" is one step.
::tensorflow::GraphDef TrainingGraph(bool adam) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({kBatch, kIn}));
  auto labels = ops::Placeholder(root.WithOpName("labels"), DT_INT32,
                                 ops::Placeholder::Shape({kBatch}));
  std::vector<Operation> inits;
  auto h1 =
      ops::Relu(root, Dense(root.NewSubScope("l1"), x, kIn, kHidden, &inits));
  auto h2 = ops::Relu(
      root, Dense(root.NewSubScope("l2"), h1, kHidden, kHidden, &inits));
  auto logits = Dense(root.NewSubScope("l3"), h2, kHidden, kOut, &inits);
  auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(root, logits, labels);
  auto loss = ops::Mean(root.WithOpName("loss"), xent.loss, {0});
  Operation init_step;
  Output step = CreateGlobalStep(root, &init_step);
  inits.push_back(init_step);
  std::unique_ptr<Optimizer> opt;
  if (adam) {
    opt = std::make_unique<AdamOptimizer>(0.001);
  } else {
    opt = std::make_unique<GradientDescentOptimizer>(0.1);
  }
  auto train =
      opt->Minimize(root, loss, {.global_step = step, .name = "train"});
  if (!train.ok()) root.UpdateStatus(train.status());
  inits.insert(inits.end(), opt->initializers().begin(),
               opt->initializers().end());
  ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
  ::tensorflow::GraphDef def;
  absl::Status s = root.ToGraphDef(&def);
  if (!s.ok()) std::fprintf(stderr, "train_bench: %s\n", s.ToString().c_str());
  return def;
}

std::vector<std::pair<std::string, Tensor>> Batch() {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::vector<float> xs(kBatch * kIn);
  for (float& v : xs) v = pixel(gen);
  std::vector<int32_t> ys(kBatch);
  for (int32_t& v : ys) v = static_cast<int32_t>(gen() % kOut);
  return {{"x", Tensor::FromVector<float>(xs, TensorShape({kBatch, kIn}))},
          {"labels", Tensor::FromVector<int32_t>(ys, TensorShape({kBatch}))}};
}

void BM_Train(benchmark::State& state) {
  const bool adam = state.range(0) == 1;
  state.SetLabel(adam ? "adam" : "sgd");
  auto session = Session::Create(TrainingGraph(adam));
  if (!session.ok()) {
    state.SkipWithError(session.status().ToString().c_str());
    return;
  }
  const auto feeds = Batch();
  if (absl::Status s = (*session)->Run({}, {}, {"init"}).status(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto out = (*session)->Run(feeds, {}, {"train"});
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
  }
  state.counters["examples_per_s"] = benchmark::Counter(
      kBatch * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Train)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write_dir=", 12) == 0) {
      const std::string dir = argv[i] + 12;
      for (const bool adam : {false, true}) {
        absl::Status s = rill::WriteGraphDef(
            rill::TrainingGraph(adam),
            dir + (adam ? "/train_adam.pb" : "/train_sgd.pb"),
            rill::GraphFormat::kBinary);
        if (!s.ok()) {
          std::fprintf(stderr, "train_bench: %s\n", s.ToString().c_str());
          return 1;
        }
      }
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
