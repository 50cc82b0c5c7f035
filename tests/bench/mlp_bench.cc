// Benchmark: one training step of an MLP 784-512-512-10 at batch 256, the
// forward and backward passes written out as graph ops (MatMul, BiasAdd,
// Relu, SparseSoftmaxCrossEntropyWithLogits, ReluGrad, BiasAddGrad, and
// ApplyGradientDescent on reference variables), as TensorFlow's
// tf.gradients would write them.
//
// Reports ms per step (feeding a batch each step, as feed_dict does) and
// the peak bytes the tensor allocator holds during a step above what it held
// before it. --measure_memory instead runs 43 steps in this fresh process
// and prints the peak RSS growth over them (for tests/bench/mlp_vs_tf.py).
//   bazel run //tests/bench:mlp_bench
//   bazel run //tests/bench:mlp_bench -- --write_dir=/tmp/graphs
//     (writes mlp.pb for tests/bench/mlp_vs_tf.py)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

constexpr int kBatch = 256;
constexpr int kIn = 784, kHidden = 512, kOut = 10;

struct Layer {
  Output w, b;
  Operation init_w, init_b;
};

Layer MakeLayer(const Scope& s, int in, int out, const std::string& name) {
  Layer l;
  l.w = ops::VariableV2(s.WithOpName(name + "/w"),
                        PartialTensorShape({in, out}), DT_FLOAT);
  l.b = ops::VariableV2(s.WithOpName(name + "/b"), PartialTensorShape({out}),
                        DT_FLOAT);
  auto noise = ops::TruncatedNormal(s, {in, out}, DT_FLOAT,
                                    ops::TruncatedNormal::Seed(1));
  l.init_w = ops::Assign(s.WithOpName(name + "/init_w"), l.w,
                         ops::Mul(s, noise, 0.05f))
                 .operation;
  l.init_b = ops::Assign(s.WithOpName(name + "/init_b"), l.b,
                         ops::Fill(s, {out}, 0.0f))
                 .operation;
  return l;
}

::tensorflow::GraphDef Mlp() {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({kBatch, kIn}));
  auto labels = ops::Placeholder(root.WithOpName("labels"), DT_INT32,
                                 ops::Placeholder::Shape({kBatch}));
  Layer l1 = MakeLayer(root, kIn, kHidden, "l1");
  Layer l2 = MakeLayer(root, kHidden, kHidden, "l2");
  Layer l3 = MakeLayer(root, kHidden, kOut, "l3");
  ops::NoOp(root.WithOpName("init").WithControlDependencies(
      {l1.init_w, l1.init_b, l2.init_w, l2.init_b, l3.init_w, l3.init_b}));

  // Forward.
  auto h1 =
      ops::Relu(root, ops::BiasAdd(root, ops::MatMul(root, x, l1.w), l1.b));
  auto h2 =
      ops::Relu(root, ops::BiasAdd(root, ops::MatMul(root, h1, l2.w), l2.b));
  auto logits = ops::BiasAdd(root, ops::MatMul(root, h2, l3.w), l3.b);
  auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(root, logits, labels);
  ops::Mean(root.WithOpName("loss"), xent.loss, {0});

  // Backward: d(mean loss)/d(logits) = backprop / batch.
  auto dlogits = ops::Mul(root, xent.backprop, 1.0f / kBatch);
  auto ta = ops::MatMul::TransposeA(true);
  auto tb = ops::MatMul::TransposeB(true);
  auto dw3 = ops::MatMul(root, h2, dlogits, ta);
  auto db3 = ops::BiasAddGrad(root, dlogits);
  auto dh2 = ops::MatMul(root, dlogits, l3.w, tb);
  auto dz2 = ops::ReluGrad(root, dh2, h2);
  auto dw2 = ops::MatMul(root, h1, dz2, ta);
  auto db2 = ops::BiasAddGrad(root, dz2);
  auto dh1 = ops::MatMul(root, dz2, l2.w, tb);
  auto dz1 = ops::ReluGrad(root, dh1, h1);
  auto dw1 = ops::MatMul(root, x, dz1, ta);
  auto db1 = ops::BiasAddGrad(root, dz1);

  // Updates; a weight is updated only after the backward pass has read it.
  auto lr = ops::Const(root, 0.1f);
  std::vector<Operation> applies = {
      ops::ApplyGradientDescent(root, l1.w, lr, dw1).operation,
      ops::ApplyGradientDescent(root, l1.b, lr, db1).operation,
      ops::ApplyGradientDescent(root.WithControlDependencies({dh1.operation}),
                                l2.w, lr, dw2)
          .operation,
      ops::ApplyGradientDescent(root, l2.b, lr, db2).operation,
      ops::ApplyGradientDescent(root.WithControlDependencies({dh2.operation}),
                                l3.w, lr, dw3)
          .operation,
      ops::ApplyGradientDescent(root, l3.b, lr, db3).operation,
  };
  ops::NoOp(root.WithOpName("train").WithControlDependencies(applies));
  ::tensorflow::GraphDef def;
  (void)root.ToGraphDef(&def);
  return def;
}

// Resident set size now and at its peak, from /proc/self/status.
int64_t ProcStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
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

// Restarts the peak RSS count (Linux: "5" to clear_refs resets VmHWM).
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

void BM_MlpStep(benchmark::State& state) {
  auto session = Session::Create(Mlp());
  if (!session.ok()) {
    state.SkipWithError(session.status().ToString().c_str());
    return;
  }
  const auto feeds = Batch();
  if (absl::Status s = (*session)->Run({}, {}, {"init"}).status(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  CpuAllocatorImpl* alloc = CpuAllocator();
  int64_t step_peak = 0;
  for (auto _ : state) {
    const int64_t before = alloc->bytes_in_use();
    alloc->ResetPeak();
    auto out = (*session)->Run(feeds, {}, {"train"});
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
    step_peak = std::max(step_peak, alloc->peak_bytes_in_use() - before);
  }
  state.counters["step_peak_MiB"] = step_peak / 1048576.0;
  state.counters["examples_per_s"] = benchmark::Counter(
      kBatch * state.iterations(), benchmark::Counter::kIsRate);
}

// For mlp_vs_tf.py, in a fresh process: 3 + 40 steps after init, as the
// TensorFlow side runs them; prints the peak RSS growth over the steps and
// the allocator's peak within a step, as JSON.
int MeasureMemory() {
  auto session = Session::Create(Mlp());
  if (!session.ok()) {
    std::fprintf(stderr, "rill: %s\n", session.status().ToString().c_str());
    return 1;
  }
  const auto feeds = Batch();
  absl::Status s = (*session)->Run({}, {}, {"init"}).status();
  ResetPeakRss();
  const int64_t rss_before_kb = ProcStatusKb("VmRSS:");
  CpuAllocatorImpl* alloc = CpuAllocator();
  int64_t step_peak = 0;
  for (int i = 0; i < 43 && s.ok(); ++i) {
    const int64_t before = alloc->bytes_in_use();
    alloc->ResetPeak();
    s = (*session)->Run(feeds, {}, {"train"}).status();
    step_peak = std::max(step_peak, alloc->peak_bytes_in_use() - before);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "rill: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("{\"rss_growth_MiB\": %.2f, \"step_peak_MiB\": %.2f}\n",
              (ProcStatusKb("VmHWM:") - rss_before_kb) / 1024.0,
              step_peak / 1048576.0);
  return 0;
}
BENCHMARK(BM_MlpStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--measure_memory") == 0) {
      return rill::MeasureMemory();
    }
    if (std::strncmp(argv[i], "--write_dir=", 12) == 0) {
      absl::Status s = rill::WriteGraphDef(
          rill::Mlp(), std::string(argv[i] + 12) + "/mlp.pb",
          rill::GraphFormat::kBinary);
      if (!s.ok()) {
        std::fprintf(stderr, "rill: %s\n", s.ToString().c_str());
        return 1;
      }
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
