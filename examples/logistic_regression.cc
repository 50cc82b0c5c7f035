// Logistic regression by mini-batch SGD on two synthetic Gaussian classes.
//
//   bazel run //examples:logistic_regression -- --epochs=20 \
//       --checkpoint_dir=/tmp/logreg [--resume]
//   bazel run //examples:logistic_regression -- \
//       --write_graph=$PWD/examples/logistic_regression.pbtxt
//
// p(y=1|x) = sigmoid(x . w + b), trained on the mean sigmoid cross-entropy
// (max(z, 0) - z y + log(1 + exp(-|z|)) for logits z, TensorFlow's stable
// form). Prints loss and accuracy after each epoch and saves a checkpoint.
//
// The data also sits in the graph: x, y and the learning rate are
// PlaceholderWithDefault nodes whose defaults are the whole dataset and
// --lr. --write_graph writes that GraphDef, which trains with no feeds:
//   rill run logistic_regression.pbtxt --init init --target train \
//       --steps 200 --fetch loss --fetch accuracy
#include <cmath>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_session.h"
#include "examples/example_util.h"
#include "runtime/training/gradients.h"
#include "runtime/training/optimizer.h"

ABSL_FLAG(int, epochs, 20, "passes over the data");
ABSL_FLAG(int, batch, 32, "examples per step");
ABSL_FLAG(double, lr, 0.5, "learning rate");
ABSL_FLAG(int, samples, 512, "dataset size (half of each class)");
ABSL_FLAG(int, features, 2, "input features");
ABSL_FLAG(int, seed, 1, "data and shuffling seed");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "save a checkpoint here after every epoch");
ABSL_FLAG(bool, resume, false, "continue from the latest checkpoint");
ABSL_FLAG(std::string, master, "",
          "train on a cluster through this master (grpc://host:port)");
ABSL_FLAG(int, workers, 0,
          "with N > 0: variables on /job:ps/task:0, each batch split over "
          "/job:worker/task:0..N-1, gradients averaged on the ps");
ABSL_FLAG(std::string, write_graph, "",
          "write the training GraphDef (.pb or .pbtxt) here and exit");

namespace rill::examples {
namespace {

absl::Status Run() {
  const int n = absl::GetFlag(FLAGS_samples), d = absl::GetFlag(FLAGS_features);
  const int batch = std::min(absl::GetFlag(FLAGS_batch), n);
  if (n <= 1 || d <= 0 || batch <= 0) {
    return absl::InvalidArgumentError(
        "--samples must be at least 2, --features and --batch positive");
  }
  const int w_count = absl::GetFlag(FLAGS_workers);
  if (w_count < 0 ||
      (w_count > 0 && (batch % w_count != 0 || n % batch != 0))) {
    return absl::InvalidArgumentError(
        "--workers must be >= 0, and with workers every batch must split "
        "evenly: --samples a multiple of --batch, --batch of --workers");
  }
  // Class 1 around +center, class 0 around -center, unit variance.
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  std::normal_distribution<double> normal;
  std::vector<float> xs(n * d), ys(n);
  for (int i = 0; i < n; ++i) {
    ys[i] = static_cast<float>(i % 2);
    for (int j = 0; j < d; ++j) {
      const double center = (j % 2 == 0 ? 1.0 : -0.5) * (ys[i] > 0 ? 1 : -1);
      xs[i * d + j] = static_cast<float>(center + normal(rng));
    }
  }
  const Tensor x_all = Tensor::FromVector<float>(xs, TensorShape({n, d}));
  const Tensor y_all = Tensor::FromVector<float>(ys, TensorShape({n}));

  Scope root = Scope::NewRootScope();
  auto x = ops::PlaceholderWithDefault(root.WithOpName("x"), x_all,
                                       PartialTensorShape({-1, d}));
  auto y = ops::PlaceholderWithDefault(root.WithOpName("y"), y_all,
                                       PartialTensorShape({-1}));
  auto lr = ops::PlaceholderWithDefault(
      root.WithOpName("learning_rate"),
      static_cast<float>(absl::GetFlag(FLAGS_lr)), PartialTensorShape({}));
  // On a cluster (--workers N): the variables live on the parameter
  // server; each worker computes the loss and gradients of its share of
  // the batch; the ps averages the gradients and applies them.
  const int workers = absl::GetFlag(FLAGS_workers);
  const Scope ps = workers > 0 ? root.WithDevice("/job:ps/task:0") : root;
  // Under "logreg/": variables live on a server for as long as it runs,
  // shared by name with every other session there.
  const Scope vars = ps.NewSubScope("logreg");
  auto w = ops::VariableV2(vars.WithOpName("w"), PartialTensorShape({d, 1}),
                           DT_FLOAT);
  auto b =
      ops::VariableV2(vars.WithOpName("b"), PartialTensorShape({}), DT_FLOAT);
  Operation init_step;
  Output step = CreateGlobalStep(ps, &init_step);
  // Mean cross-entropy and accuracy of logistic regression on (xs, ys).
  auto model = [&](const Scope& s, Output xs, Output ys, Output* loss,
                   Output* accuracy) {
    auto logits =
        ops::AddV2(s, ops::Reshape(s, ops::MatMul(s, xs, w), {-1}), b);
    auto xent = ops::AddV2(
        s, ops::Sub(s, ops::Relu(s, logits), ops::Mul(s, logits, ys)),
        ops::Log1p(s, ops::Exp(s, ops::Neg(s, ops::Abs(s, logits)))));
    *loss = ops::Mean(s, xent, {0});
    auto predicted = ops::Cast(s, ops::Greater(s, logits, 0.0f), DT_FLOAT);
    *accuracy =
        ops::Mean(s, ops::Cast(s, ops::Equal(s, predicted, ys), DT_FLOAT), {0});
  };
  GradientDescentOptimizer sgd(0.0);
  sgd.SetLearningRate(lr);
  if (workers == 0) {
    Output loss, accuracy;
    model(root, x, y, &loss, &accuracy);
    ops::Identity(root.WithOpName("loss"), loss);
    ops::Identity(root.WithOpName("accuracy"), accuracy);
    auto train =
        sgd.Minimize(root, loss, {.global_step = step, .name = "train"});
    if (!train.ok()) return train.status();
  } else {
    auto x_parts = ops::Split(root, 0, x, workers);
    auto y_parts = ops::Split(root, 0, y, workers);
    std::vector<Output> losses, accuracies, dws, dbs;
    for (int i = 0; i < workers; ++i) {
      const Scope on = root.WithDevice(absl::StrCat("/job:worker/task:", i));
      Output loss, accuracy;
      model(on, x_parts.output[i], y_parts.output[i], &loss, &accuracy);
      std::vector<Output> grads;
      RETURN_IF_ERROR(AddSymbolicGradients(on, {loss}, {w, b}, &grads));
      losses.push_back(loss);
      accuracies.push_back(accuracy);
      dws.push_back(grads[0]);
      dbs.push_back(grads[1]);
    }
    const float share = 1.0f / static_cast<float>(workers);
    auto dw = ops::Mul(ps, ops::AddN(ps, dws), share);
    auto db = ops::Mul(ps, ops::AddN(ps, dbs), share);
    ops::Mean(ps.WithOpName("loss"), ops::Pack(ps, losses), {0});
    ops::Mean(ps.WithOpName("accuracy"), ops::Pack(ps, accuracies), {0});
    auto train = sgd.ApplyGradients(ps, {{dw, w}, {db, b}},
                                    {.global_step = step, .name = "train"});
    if (!train.ok()) return train.status();
  }
  ops::NoOp(root.WithOpName("init").WithControlDependencies(
      {ops::Assign(root, w, ops::Fill(root, {d, 1}, 0.0f)).operation,
       ops::Assign(root, b, 0.0f).operation, init_step}));
  ASSIGN_OR_RETURN(std::unique_ptr<Saver> saver, Saver::Create(root));
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));

  const std::string graph_path = absl::GetFlag(FLAGS_write_graph);
  if (!graph_path.empty()) {
    RETURN_IF_ERROR(WriteGraphDef(def, graph_path, FormatForPath(graph_path)));
    std::printf("wrote %s: %d nodes\n", graph_path.c_str(), def.node_size());
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SessionInterface> session,
                   NewSession(absl::GetFlag(FLAGS_master), def));
  EpochLoop loop{session.get(),
                 saver.get(),
                 absl::GetFlag(FLAGS_checkpoint_dir),
                 absl::GetFlag(FLAGS_resume),
                 absl::GetFlag(FLAGS_epochs),
                 n,
                 batch,
                 static_cast<uint64_t>(absl::GetFlag(FLAGS_seed))};
  loop.step = [&](int, const std::vector<int64_t>& order, int64_t lo,
                  int64_t hi) {
    return session
        ->Run({{"x", Rows(x_all, order, lo, hi)},
               {"y", Rows(y_all, order, lo, hi)}},
              {}, {"train"})
        .status();
  };
  loop.end_of_epoch = [&](int epoch) -> absl::StatusOr<int64_t> {
    // Without feeds, x and y default to the whole dataset.
    ASSIGN_OR_RETURN(std::vector<Tensor> out,
                     session->Run({}, {"loss", "accuracy", "global_step"}, {}));
    std::printf("epoch %d/%d  loss %.4f  accuracy %.4f  step %lld\n", epoch + 1,
                loop.epochs, ScalarOf(out[0]), ScalarOf(out[1]),
                static_cast<long long>(out[2].scalar<int64_t>()));
    return out[2].scalar<int64_t>();
  };
  RETURN_IF_ERROR(RunEpochs(loop));
  ASSIGN_OR_RETURN(std::vector<Tensor> out,
                   session->Run({}, {"loss", "accuracy"}, {}));
  std::printf("final loss %.4f, accuracy %.4f\n", ScalarOf(out[0]),
              ScalarOf(out[1]));
  return absl::OkStatus();
}

}  // namespace
}  // namespace rill::examples

int main(int argc, char** argv) {
  return rill::examples::ExampleMain(argc, argv, "logistic_regression",
                                     "Logistic regression by SGD.",
                                     rill::examples::Run);
}
