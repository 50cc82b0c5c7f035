// Linear regression by mini-batch SGD on synthetic data, checked against
// the closed-form least-squares solution.
//
//   bazel run //examples:linear_regression -- --epochs=30 \
//       --checkpoint_dir=/tmp/linreg [--resume]
//
// y = x . w_true + b_true + noise; the model learns w and b with the
// GradientDescent optimizer (a learning rate that decays each epoch, fed
// through a placeholder), prints the loss over the whole dataset after each
// epoch, saves a checkpoint per epoch, and at the end prints how far its
// weights are from the least-squares solution of the normal equations.
#include <cmath>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "examples/example_util.h"
#include "runtime/training/optimizer.h"

ABSL_FLAG(int, epochs, 30, "passes over the data");
ABSL_FLAG(int, batch, 32, "examples per step");
ABSL_FLAG(double, lr, 0.1, "initial learning rate");
ABSL_FLAG(double, decay, 0.85, "learning rate factor per epoch");
ABSL_FLAG(int, samples, 1024, "dataset size");
ABSL_FLAG(int, features, 4, "input features");
ABSL_FLAG(int, seed, 1, "data and shuffling seed");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "save a checkpoint here after every epoch");
ABSL_FLAG(bool, resume, false, "continue from the latest checkpoint");

namespace rill::examples {
namespace {

// Least squares over [x, 1] by the normal equations (Gaussian elimination
// with partial pivoting, in double).
std::vector<double> LeastSquares(const std::vector<float>& x,
                                 const std::vector<float>& y, int n, int d) {
  const int m = d + 1;
  std::vector<std::vector<double>> a(m, std::vector<double>(m + 1, 0.0));
  for (int i = 0; i < n; ++i) {
    for (int r = 0; r < m; ++r) {
      const double xr = r < d ? x[i * d + r] : 1.0;
      for (int c = 0; c < m; ++c) a[r][c] += xr * (c < d ? x[i * d + c] : 1.0);
      a[r][m] += xr * y[i];
    }
  }
  for (int c = 0; c < m; ++c) {
    int p = c;
    for (int r = c + 1; r < m; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    }
    std::swap(a[c], a[p]);
    for (int r = c + 1; r < m; ++r) {
      const double f = a[r][c] / a[c][c];
      for (int k = c; k <= m; ++k) a[r][k] -= f * a[c][k];
    }
  }
  std::vector<double> sol(m);
  for (int r = m - 1; r >= 0; --r) {
    double s = a[r][m];
    for (int k = r + 1; k < m; ++k) s -= a[r][k] * sol[k];
    sol[r] = s / a[r][r];
  }
  return sol;
}

absl::Status Run() {
  const int n = absl::GetFlag(FLAGS_samples), d = absl::GetFlag(FLAGS_features);
  const int batch = std::min(absl::GetFlag(FLAGS_batch), n);
  if (n <= 0 || d <= 0 || batch <= 0) {
    return absl::InvalidArgumentError(
        "--samples, --features and --batch must be positive");
  }
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  std::normal_distribution<double> normal;
  std::vector<float> xs(n * d), ys(n);
  for (int i = 0; i < n; ++i) {
    double y = 0.5 + 0.1 * normal(rng);
    for (int j = 0; j < d; ++j) {
      xs[i * d + j] = static_cast<float>(normal(rng));
      y += (j % 2 == 0 ? 1.0 : -1.0) * (1.0 + 0.5 * j) * xs[i * d + j];
    }
    ys[i] = static_cast<float>(y);
  }
  const Tensor x_all = Tensor::FromVector<float>(xs, TensorShape({n, d}));
  const Tensor y_all = Tensor::FromVector<float>(ys, TensorShape({n}));

  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({-1, d}));
  auto y = ops::Placeholder(root.WithOpName("y"), DT_FLOAT,
                            ops::Placeholder::Shape({-1}));
  auto lr = ops::Placeholder(root.WithOpName("learning_rate"), DT_FLOAT,
                             ops::Placeholder::Shape({}));
  auto w = ops::VariableV2(root.WithOpName("w"), PartialTensorShape({d, 1}),
                           DT_FLOAT);
  auto b =
      ops::VariableV2(root.WithOpName("b"), PartialTensorShape({}), DT_FLOAT);
  Operation init_step;
  Output step = CreateGlobalStep(root, &init_step);
  auto pred =
      ops::AddV2(root, ops::Reshape(root, ops::MatMul(root, x, w), {-1}), b);
  ops::Mean(root.WithOpName("loss"), ops::SquaredDifference(root, pred, y),
            {0});
  GradientDescentOptimizer sgd(0.0);
  sgd.SetLearningRate(lr);
  auto train = sgd.Minimize(root, Output(root.graph()->FindNode("loss"), 0),
                            {.global_step = step, .name = "train"});
  if (!train.ok()) return train.status();
  ops::NoOp(root.WithOpName("init").WithControlDependencies(
      {ops::Assign(root, w, ops::Fill(root, {d, 1}, 0.0f)).operation,
       ops::Assign(root, b, 0.0f).operation, init_step}));
  ASSIGN_OR_RETURN(std::unique_ptr<Saver> saver, Saver::Create(root));
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(def));

  EpochLoop loop{session.get(),
                 saver.get(),
                 absl::GetFlag(FLAGS_checkpoint_dir),
                 absl::GetFlag(FLAGS_resume),
                 absl::GetFlag(FLAGS_epochs),
                 n,
                 batch,
                 static_cast<uint64_t>(absl::GetFlag(FLAGS_seed))};
  // The learning rate decays by --decay per epoch.
  auto rate_at = [](int epoch) {
    return static_cast<float>(absl::GetFlag(FLAGS_lr) *
                              std::pow(absl::GetFlag(FLAGS_decay), epoch));
  };
  loop.step = [&](int epoch, const std::vector<int64_t>& order, int64_t lo,
                  int64_t hi) {
    return session
        ->Run({{"x", Rows(x_all, order, lo, hi)},
               {"y", Rows(y_all, order, lo, hi)},
               {"learning_rate", Tensor::Scalar(rate_at(epoch))}},
              {}, {"train"})
        .status();
  };
  loop.end_of_epoch = [&](int epoch) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(std::vector<Tensor> out,
                     session->Run({{"x", x_all}, {"y", y_all}},
                                  {"loss", "global_step"}, {}));
    const int64_t at = out[1].scalar<int64_t>();
    std::printf("epoch %d/%d  loss %.6f  lr %.4f  step %lld\n", epoch + 1,
                loop.epochs, ScalarOf(out[0]), rate_at(epoch),
                static_cast<long long>(at));
    return at;
  };
  RETURN_IF_ERROR(RunEpochs(loop));
  ASSIGN_OR_RETURN(std::vector<Tensor> wb, session->Run({}, {"w", "b"}, {}));
  const std::vector<double> best = LeastSquares(xs, ys, n, d);
  double worst = std::abs(wb[1].scalar<float>() - best[d]);
  for (int j = 0; j < d; ++j) {
    worst = std::max(worst, std::abs(wb[0].flat<float>()[j] - best[j]));
  }
  std::printf("learned w =");
  for (int j = 0; j < d; ++j) std::printf(" %.4f", wb[0].flat<float>()[j]);
  std::printf(", b = %.4f\n", wb[1].scalar<float>());
  std::printf("max |learned - least squares| = %.2e\n", worst);
  return absl::OkStatus();
}

}  // namespace
}  // namespace rill::examples

int main(int argc, char** argv) {
  return rill::examples::ExampleMain(
      argc, argv, "linear_regression",
      "Linear regression by SGD, checked against least squares.",
      rill::examples::Run);
}
