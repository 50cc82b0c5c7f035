// Builds a two-layer MLP classifier graph with the C++ API and writes it as a
// GraphDef that `rill inspect`, `rill dot` (and TensorFlow) can read.
//
//   bazel run //examples:build_mlp_graph -- --out=/tmp/mlp.pbtxt --hidden=128
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"

ABSL_FLAG(std::string, out, "mlp.pbtxt",
          "where to write the GraphDef (.pb or .pbtxt)");
ABSL_FLAG(int, inputs, 784, "input features");
ABSL_FLAG(int, hidden, 128, "hidden units");
ABSL_FLAG(int, classes, 10, "output classes");
ABSL_FLAG(std::string, labels, "int64",
          "dtype of the labels y: int64 or int32");

namespace rill {
namespace {

using ::tensorflow::DT_FLOAT;
using ::tensorflow::DT_INT32;
using ::tensorflow::DT_INT64;

// One dense layer: variables w [in, out] and b [out] with their initializers
// (truncated normal and zeros), colocated with the variables as TensorFlow
// does it. Returns x @ w + b.
Output Dense(const Scope& scope, Output x, int64_t in, int64_t out,
             std::vector<Operation>* inits) {
  auto w = ops::VariableV2(scope.WithOpName("w"), PartialTensorShape({in, out}),
                           DT_FLOAT);
  auto b = ops::VariableV2(scope.WithOpName("b"), PartialTensorShape({out}),
                           DT_FLOAT);
  auto w0 = ops::Mul(scope,
                     ops::TruncatedNormal(scope, {in, out}, DT_FLOAT,
                                          ops::TruncatedNormal::Seed(1)),
                     0.05f);
  inits->push_back(
      ops::Assign(scope.WithOpName("w/Assign").ColocateWith(w), w, w0)
          .operation);
  inits->push_back(ops::Assign(scope.WithOpName("b/Assign").ColocateWith(b), b,
                               ops::Fill(scope, {out}, 0.0f))
                       .operation);
  return ops::BiasAdd(scope, ops::MatMul(scope, x, w), b);
}

int Main() {
  Scope root = Scope::NewRootScope();
  const int64_t inputs = absl::GetFlag(FLAGS_inputs);
  const int64_t hidden = absl::GetFlag(FLAGS_hidden);
  const int64_t classes = absl::GetFlag(FLAGS_classes);
  auto x = ops::Placeholder(
      root.WithOpName("x"), DT_FLOAT,
      ops::Placeholder::Shape(PartialTensorShape({-1, inputs})));
  const std::string labels = absl::GetFlag(FLAGS_labels);
  if (labels != "int64" && labels != "int32") {
    std::fprintf(stderr, "build_mlp_graph: --labels must be int64 or int32\n");
    return 1;
  }
  const auto label_dtype = labels == "int32" ? DT_INT32 : DT_INT64;
  auto y = ops::Placeholder(root.WithOpName("y"), label_dtype,
                            ops::Placeholder::Shape(PartialTensorShape({-1})));
  std::vector<Operation> inits;
  auto h = ops::Relu(
      root, Dense(root.NewSubScope("hidden"), x, inputs, hidden, &inits));
  Output logits = Dense(root.NewSubScope("logits"), h, hidden, classes, &inits);
  auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(root, logits, y);
  ops::Mean(root.WithOpName("loss"), xent.loss, {0});
  auto prediction = ops::ArgMax(root.WithOpName("prediction"), logits, 1,
                                ops::ArgMax::OutputType(label_dtype));
  ops::Mean(root.WithOpName("accuracy"),
            ops::Cast(root, ops::Equal(root, prediction, y), DT_FLOAT), {0});
  ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));

  ::tensorflow::GraphDef def;
  absl::Status s = root.ToGraphDef(&def);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (s.ok()) s = WriteGraphDef(def, out, FormatForPath(out));
  if (!s.ok()) {
    std::fprintf(stderr, "build_mlp_graph: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("wrote %s: %d nodes (%lld-%lld-%lld MLP)\n", out.c_str(),
              def.node_size(), static_cast<long long>(inputs),
              static_cast<long long>(hidden), static_cast<long long>(classes));
  return 0;
}

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Builds an MLP GraphDef with Rill's C++ API.");
  absl::ParseCommandLine(argc, argv);
  return rill::Main();
}
