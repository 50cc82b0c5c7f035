// Benchmark: executor overhead on graphs of 10,000 scalar AddV2 nodes.
//
//   chain:   x -> +1 -> +1 -> ... (each node waits for the previous one)
//   fan-out: 10,000 independent x + 1, joined by a NoOp's control inputs
//
// Reports ns per node of a full Session::Run step (feed x, fetch or target).
//   bazel run //tests/bench:executor_bench
//   bazel run //tests/bench:executor_bench -- --write_dir=/tmp/graphs
//     (writes chain.pb and fanout.pb for tests/bench/executor_vs_tf.py)
#include <cstdio>
#include <cstring>
#include <string>

#include "benchmark/benchmark.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

constexpr int kNodes = 10'000;

::tensorflow::GraphDef Chain() {
  Scope root = Scope::NewRootScope();
  Output y =
      ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                       ops::Placeholder::Shape(PartialTensorShape::Scalar()));
  auto one = ops::Const(root.WithOpName("one"), 1.0f);
  for (int i = 0; i < kNodes; ++i) y = ops::AddV2(root, y, one);
  ops::Identity(root.WithOpName("out"), y);
  ::tensorflow::GraphDef def;
  (void)root.ToGraphDef(&def);
  return def;
}

::tensorflow::GraphDef FanOut() {
  Scope root = Scope::NewRootScope();
  auto x =
      ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                       ops::Placeholder::Shape(PartialTensorShape::Scalar()));
  auto one = ops::Const(root.WithOpName("one"), 1.0f);
  std::vector<Operation> adds;
  for (int i = 0; i < kNodes; ++i)
    adds.push_back(ops::AddV2(root, x, one).operation);
  ops::NoOp(root.WithOpName("out").WithControlDependencies(adds));
  ::tensorflow::GraphDef def;
  (void)root.ToGraphDef(&def);
  return def;
}

void Run(benchmark::State& state, ::tensorflow::GraphDef def, bool fetch) {
  auto session = Session::Create(std::move(def));
  if (!session.ok()) {
    state.SkipWithError(session.status().ToString().c_str());
    return;
  }
  const std::vector<std::pair<std::string, Tensor>> feeds = {
      {"x", Tensor::Scalar(0.0f)}};
  const std::vector<std::string> fetches =
      fetch ? std::vector<std::string>{"out"} : std::vector<std::string>{};
  const std::vector<std::string> targets =
      fetch ? std::vector<std::string>{} : std::vector<std::string>{"out"};
  auto warm = (*session)->Run(feeds, fetches, targets);  // Builds the executor.
  if (!warm.ok()) {
    state.SkipWithError(warm.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto out = (*session)->Run(feeds, fetches, targets);
    benchmark::DoNotOptimize(out);
  }
  state.counters["ns_per_node"] = benchmark::Counter(
      1e-9 * kNodes * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Chain(benchmark::State& state) { Run(state, Chain(), true); }
void BM_FanOut(benchmark::State& state) { Run(state, FanOut(), false); }
BENCHMARK(BM_Chain)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FanOut)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write_dir=", 12) == 0) {
      const std::string dir = argv[i] + 12;
      for (auto [name, def] : {std::pair{"chain.pb", rill::Chain()},
                               std::pair{"fanout.pb", rill::FanOut()}}) {
        absl::Status s = rill::WriteGraphDef(def, dir + "/" + name,
                                             rill::GraphFormat::kBinary);
        if (!s.ok()) {
          std::fprintf(stderr, "rill: %s\n", s.ToString().c_str());
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
