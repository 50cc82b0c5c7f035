// Benchmark: GraphDef import + validation + shape inference, in ns per node.
//
// The graph is a 100,000-node stack of small dense layers, the shape of
// what a training script produces: per layer a weight Const, MatMul,
// a bias Const, BiasAdd, Relu, plus a Reshape through a shape Const every
// layer (so shape inference has constant inputs to propagate).
//
//   bazel run -c opt //tests/bench:graph_import_bench
//   bazel run -c opt //tests/bench:graph_import_bench -- --write=/tmp/g.pb
//     (writes the graph for tests/bench/import_vs_tf.py and exits)
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/framework/attr_value.h"
#include "core/framework/tensor.h"
#include "core/framework/tensor_proto.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "core/graph/shape_refiner.h"

namespace rill {
namespace {

constexpr int kNodesPerLayer = 7;
constexpr int kTargetNodes = 100'000;

::tensorflow::NodeDef* AddNode(::tensorflow::GraphDef* g, std::string name,
                               std::string op,
                               std::initializer_list<std::string> inputs) {
  auto* n = g->add_node();
  n->set_name(std::move(name));
  n->set_op(std::move(op));
  for (const auto& in : inputs) n->add_input(in);
  return n;
}

void SetConst(::tensorflow::NodeDef* n, const Tensor& t) {
  (*n->mutable_attr())["dtype"] = MakeAttr(t.dtype());
  TensorToProtoField(t, (*n->mutable_attr())["value"].mutable_tensor());
}

::tensorflow::GraphDef MakeGraph() {
  ::tensorflow::GraphDef g;
  g.mutable_versions()->set_producer(1994);
  auto* x = AddNode(&g, "x", "Placeholder", {});
  (*x->mutable_attr())["dtype"] = MakeAttr(::tensorflow::DT_FLOAT);
  (*x->mutable_attr())["shape"] = MakeAttr(PartialTensorShape({-1, 8}));
  const AttrValue t = MakeAttr(::tensorflow::DT_FLOAT);
  std::string prev = "x";
  const Tensor w = Tensor::FromVector<float>(std::vector<float>(64, 0.1f),
                                             TensorShape({8, 8}));
  const Tensor b = Tensor::FromVector<float>(std::vector<float>(8, 0.0f));
  const Tensor shape = Tensor::FromVector<int32_t>({-1, 8});
  for (int i = 0; g.node_size() + kNodesPerLayer <= kTargetNodes; ++i) {
    const std::string p = absl::StrCat("layer", i, "/");
    SetConst(AddNode(&g, p + "w", "Const", {}), w);
    (*AddNode(&g, p + "MatMul", "MatMul", {prev, p + "w"})
          ->mutable_attr())["T"] = t;
    SetConst(AddNode(&g, p + "b", "Const", {}), b);
    (*AddNode(&g, p + "BiasAdd", "BiasAdd", {p + "MatMul", p + "b"})
          ->mutable_attr())["T"] = t;
    (*AddNode(&g, p + "Relu", "Relu", {p + "BiasAdd"})->mutable_attr())["T"] =
        t;
    SetConst(AddNode(&g, p + "shape", "Const", {}), shape);
    (*AddNode(&g, p + "Reshape", "Reshape", {p + "Relu", p + "shape"})
          ->mutable_attr())["T"] = t;
    prev = p + "Reshape";
  }
  return g;
}

const std::string& SerializedGraph() {
  static const std::string* bytes =
      new std::string(MakeGraph().SerializeAsString());
  return *bytes;
}

// A counter that reports elapsed time / (nodes * iterations) in ns: an
// inverted rate of (nodes * iterations * 1e-9) per second.
benchmark::Counter NsPerNode(int nodes, int64_t iterations) {
  return benchmark::Counter(
      1e-9 * nodes * iterations,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Parse the bytes, import and validate, infer every shape.
void BM_ImportValidateInferShapes(benchmark::State& state) {
  const std::string& bytes = SerializedGraph();
  int nodes = 0;
  for (auto _ : state) {
    auto def = ParseGraphDef(bytes, GraphFormat::kBinary, "bench graph");
    auto graph = ImportGraphDef(*std::move(def));
    auto shapes = InferShapes(**graph);
    if (!shapes.ok()) state.SkipWithError(shapes.status().ToString().c_str());
    nodes = (*graph)->num_nodes();
    benchmark::DoNotOptimize(shapes);
  }
  state.counters["nodes"] = nodes;
  state.counters["ns_per_node"] = NsPerNode(nodes, state.iterations());
}
BENCHMARK(BM_ImportValidateInferShapes)->Unit(benchmark::kMillisecond);

// The three stages apart, to see where the time goes.
void BM_Stage(benchmark::State& state) {
  const std::string& bytes = SerializedGraph();
  auto def = ParseGraphDef(bytes, GraphFormat::kBinary, "bench graph");
  auto graph = ImportGraphDef(*def);
  const int stage = state.range(0);
  for (auto _ : state) {
    if (stage == 0) {
      benchmark::DoNotOptimize(ParseGraphDef(bytes, GraphFormat::kBinary, "g"));
    } else if (stage == 1) {
      state.PauseTiming();
      ::tensorflow::GraphDef copy = *def;
      state.ResumeTiming();
      benchmark::DoNotOptimize(ImportGraphDef(std::move(copy)));
    } else {
      benchmark::DoNotOptimize(InferShapes(**graph));
    }
  }
  state.SetLabel(stage == 0   ? "parse"
                 : stage == 1 ? "import+validate"
                              : "shapes");
  state.counters["ns_per_node"] =
      NsPerNode((*graph)->num_nodes(), state.iterations());
}
BENCHMARK(BM_Stage)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write=", 8) == 0) {
      absl::Status s = rill::WriteGraphDef(rill::MakeGraph(), argv[i] + 8,
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
