// Benchmark: float32 MatMul at N = 256, 1024, 4096, in GFLOP/s (2 N^3 per
// product), for Rill's MatMul through Session::Run and, side by side, for
// the BLAS routines it could be built on: Eigen's GEMM (single-threaded) and
// OpenBLAS's sgemm with its own threads.
//
//   bazel run //tests/bench:matmul_bench
//   python3 tests/bench/matmul_vs_tf.py    (adds TensorFlow, same run)
#include <cblas.h>

#include <eigen3/Eigen/Core>
#include <random>
#include <thread>

#include "benchmark/benchmark.h"
#include "core/cc/ops.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

Tensor RandomMatrix(int64_t n, uint64_t seed) {
  Tensor t = *Tensor::Create(DT_FLOAT, TensorShape({n, n}));
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float& v : t.flat<float>()) v = dist(gen);
  return t;
}

void SetFlops(benchmark::State& state, int64_t n) {
  state.counters["GFLOPS"] = benchmark::Counter(
      2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void BM_RillMatMul(benchmark::State& state) {
  const int64_t n = state.range(0);
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);
  auto b = ops::Placeholder(root.WithOpName("b"), DT_FLOAT);
  ops::MatMul(root.WithOpName("c"), a, b);
  ::tensorflow::GraphDef def;
  (void)root.ToGraphDef(&def);
  auto session = Session::Create(def);
  const std::vector<std::pair<std::string, Tensor>> feeds = {
      {"a", RandomMatrix(n, 1)}, {"b", RandomMatrix(n, 2)}};
  for (auto _ : state) {
    auto out = (*session)->Run(feeds, {"c"}, {});
    if (!out.ok()) state.SkipWithError(out.status().ToString().c_str());
    benchmark::DoNotOptimize(out);
  }
  SetFlops(state, n);
}

void BM_EigenGemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  using M =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  M a = M::Random(n, n), b = M::Random(n, n), c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  SetFlops(state, n);
}

void BM_OpenBlasSgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = RandomMatrix(n, 1), b = RandomMatrix(n, 2), c = RandomMatrix(n, 3);
  // OpenBLAS with its own threads, one per core: the best this BLAS does
  // alone. (Rill's kernels set it single-threaded and split products over
  // oneTBB; this benchmark restores that afterwards.)
  openblas_set_num_threads(
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                a.flat<float>().data(), n, b.flat<float>().data(), n, 0.0f,
                c.flat<float>().data(), n);
    benchmark::DoNotOptimize(c.raw_data());
  }
  openblas_set_num_threads(1);
  SetFlops(state, n);
}

BENCHMARK(BM_RillMatMul)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_EigenGemm)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_OpenBlasSgemm)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace rill

BENCHMARK_MAIN();
