// Optimizers as a user drives them: build a model, Minimize, run the
// initializers once and the train op per step.
#include "runtime/training/optimizer.h"

#include <cmath>
#include <random>
#include <string>

#include "core/cc/ops.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

// Solves the n x n system a x = b (Gaussian elimination, partial pivoting).
std::vector<double> Solve(std::vector<std::vector<double>> a,
                          std::vector<double> b) {
  const int n = static_cast<int>(b.size());
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    }
    std::swap(a[c], a[p]);
    std::swap(b[c], b[p]);
    for (int r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (int r = n - 1; r >= 0; --r) {
    double s = b[r];
    for (int k = r + 1; k < n; ++k) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

std::unique_ptr<Session> MustCreate(const Scope& root) {
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  EXPECT_TRUE(session.ok()) << session.status();
  return session.ok() ? *std::move(session) : nullptr;
}

TEST(OptimizerTest, LinearRegressionReachesTheLeastSquaresSolution) {
  constexpr int kN = 64, kD = 3;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::vector<float> xs, ys;
  const double true_w[kD] = {1.5, -2.0, 0.5};
  for (int i = 0; i < kN; ++i) {
    double y = 0.3 + 0.1 * normal(rng);
    for (int j = 0; j < kD; ++j) {
      xs.push_back(static_cast<float>(normal(rng)));
      y += true_w[j] * xs.back();
    }
    ys.push_back(static_cast<float>(y));
  }
  // The closed form: normal equations over [x, 1].
  std::vector<std::vector<double>> ata(kD + 1, std::vector<double>(kD + 1));
  std::vector<double> aty(kD + 1);
  for (int i = 0; i < kN; ++i) {
    double row[kD + 1];
    for (int j = 0; j < kD; ++j) row[j] = xs[i * kD + j];
    row[kD] = 1;
    for (int a = 0; a <= kD; ++a) {
      aty[a] += row[a] * ys[i];
      for (int b = 0; b <= kD; ++b) ata[a][b] += row[a] * row[b];
    }
  }
  const std::vector<double> best = Solve(ata, aty);

  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto y = ops::Placeholder(root.WithOpName("y"), DT_FLOAT);
  auto w = ops::VariableV2(root.WithOpName("w"), PartialTensorShape({kD, 1}),
                           DT_FLOAT);
  auto b =
      ops::VariableV2(root.WithOpName("b"), PartialTensorShape({}), DT_FLOAT);
  auto init_w = ops::Assign(root, w, ops::Fill(root, {kD, 1}, 0.0f));
  auto init_b = ops::Assign(root, b, 0.0f);
  auto pred = ops::AddV2(root, ops::Squeeze(root, ops::MatMul(root, x, w)), b);
  auto loss = ops::Mean(root.WithOpName("loss"),
                        ops::Square(root, ops::Sub(root, pred, y)), {0});
  Operation init_step;
  Output step = CreateGlobalStep(root, &init_step);
  GradientDescentOptimizer sgd(0.1);
  auto train = sgd.Minimize(root, loss, {.global_step = step});
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->name(), "GradientDescent");
  ops::NoOp(root.WithOpName("init").WithControlDependencies(
      {init_w.operation, init_b.operation, init_step}));
  auto session = MustCreate(root);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Run({}, {}, {"init"}).ok());
  const std::vector<std::pair<std::string, Tensor>> feeds = {
      {"x", Tensor::FromVector<float>(xs, TensorShape({kN, kD}))},
      {"y", Tensor::FromVector<float>(ys, TensorShape({kN}))}};
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(session->Run(feeds, {}, {"GradientDescent"}).ok());
  }
  auto got = session->Run({}, {"w", "b", "global_step"}, {});
  ASSERT_TRUE(got.ok()) << got.status();
  for (int j = 0; j < kD; ++j) {
    EXPECT_NEAR((*got)[0].flat<float>()[j], best[j], 1e-3) << "w" << j;
  }
  EXPECT_NEAR((*got)[1].flat<float>()[0], best[kD], 1e-3);
  EXPECT_EQ((*got)[2].flat<int64_t>()[0], 500);
}

// Two steps of Momentum and Adam on loss = sum(w * c) (gradient c), for
// ref and resource variables, against the update rules written out here.
TEST(OptimizerTest, MomentumAdamAndAdagradFollowTheirRules) {
  for (const bool resource : {false, true}) {
    for (const std::string kind : {"Momentum", "Adam", "Adagrad"}) {
      const bool adam = kind == "Adam";
      Scope root = Scope::NewRootScope();
      Output w, init;
      if (resource) {
        w = ops::VarHandleOp(root.WithOpName("w"), DT_FLOAT,
                             PartialTensorShape({2}));
        init = Output(
            ops::AssignVariableOp(root.WithOpName("init_w"), w, {1.0f, 2.0f})
                .operation.node());
      } else {
        w = ops::VariableV2(root.WithOpName("w"), PartialTensorShape({2}),
                            DT_FLOAT);
        init = ops::Assign(root.WithOpName("init_w"), w, {1.0f, 2.0f});
      }
      Output value =
          resource ? Output(ops::ReadVariableOp(root, w, DT_FLOAT)) : w;
      auto loss = ops::Sum(root, ops::Mul(root, value, {0.5f, -1.0f}), {0});
      std::unique_ptr<Optimizer> opt;
      if (adam) {
        opt = std::make_unique<AdamOptimizer>(0.1);
      } else if (kind == "Adagrad") {
        opt = std::make_unique<AdagradOptimizer>(0.1);
      } else {
        opt = std::make_unique<MomentumOptimizer>(0.1, 0.9);
      }
      auto train = opt->Minimize(root, loss, {.name = "train"});
      ASSERT_TRUE(train.ok()) << train.status();
      std::vector<Operation> inits = opt->initializers();
      inits.push_back(init.op());
      ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
      ops::Identity(root.WithOpName("w_value"), value);
      auto session = MustCreate(root);
      ASSERT_NE(session, nullptr);
      ASSERT_TRUE(session->Run({}, {}, {"init"}).ok());
      double want[2] = {1, 2}, slot1[2] = {0, 0}, slot2[2] = {0, 0};
      if (kind == "Adagrad") slot1[0] = slot1[1] = 0.1;
      const double g[2] = {0.5, -1.0};
      double b1p = 0.9, b2p = 0.999;
      for (int step = 0; step < 2; ++step) {
        ASSERT_TRUE(session->Run({}, {}, {"train"}).ok());
        for (int i = 0; i < 2; ++i) {
          if (adam) {
            slot1[i] = 0.9 * slot1[i] + 0.1 * g[i];
            slot2[i] = 0.999 * slot2[i] + 0.001 * g[i] * g[i];
            const double lr = 0.1 * std::sqrt(1 - b2p) / (1 - b1p);
            want[i] -= lr * slot1[i] / (std::sqrt(slot2[i]) + 1e-8);
          } else if (kind == "Adagrad") {
            slot1[i] += g[i] * g[i];
            want[i] -= 0.1 * g[i] / std::sqrt(slot1[i]);
          } else {
            slot1[i] = 0.9 * slot1[i] + g[i];
            want[i] -= 0.1 * slot1[i];
          }
        }
        b1p *= 0.9;
        b2p *= 0.999;
      }
      auto got = session->Run({}, {"w_value"}, {});
      ASSERT_TRUE(got.ok()) << got.status();
      for (int i = 0; i < 2; ++i) {
        EXPECT_NEAR((*got)[0].flat<float>()[i], want[i], 1e-5)
            << kind << (resource ? " resource" : "") << " element " << i;
      }
    }
  }
}

TEST(OptimizerTest, UpdatesAppliedAgainShareTheSlots) {
  // Two workers' pushes to one variable (ApplyGradients twice) keep one
  // Adagrad accumulator, as TensorFlow's optimizers do: applying the same
  // gradient through each update in turn is two Adagrad steps.
  Scope root = Scope::NewRootScope();
  auto w =
      ops::VariableV2(root.WithOpName("w"), PartialTensorShape({1}), DT_FLOAT);
  auto init_w = ops::Assign(root.WithOpName("init_w"), w, {1.0f});
  auto g = ops::Const(root, {2.0f});
  AdagradOptimizer opt(0.5, /*initial_accumulator_value=*/0.1);
  auto first = opt.ApplyGradients(root, {{g, w}}, {.name = "first"});
  auto second = opt.ApplyGradients(root, {{g, w}}, {.name = "second"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(opt.initializers().size(), 1u);
  std::vector<Operation> inits = opt.initializers();
  inits.push_back(init_w.operation);
  ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  int accumulators = 0;
  for (const auto& n : def.node()) {
    accumulators += n.op() == "VariableV2" && n.name() != "w";
  }
  EXPECT_EQ(accumulators, 1);
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  ASSERT_TRUE((*session)->Run({}, {}, {"first"}).ok());
  ASSERT_TRUE((*session)->Run({}, {}, {"second"}).ok());
  auto out = (*session)->Run({}, {"w"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  // accum 0.1 + 4 = 4.1, then 8.1; w -= 0.5 * 2 / sqrt(accum) each time.
  const double want = 1.0 - 1.0 / std::sqrt(4.1) - 1.0 / std::sqrt(8.1);
  EXPECT_NEAR((*out)[0].flat<float>()[0], want, 1e-5);
}

TEST(OptimizerTest, BadRequestsAreClearErrors) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto loss = ops::Sum(root.WithOpName("loss"), ops::Square(root, x), {0});
  GradientDescentOptimizer sgd(0.1);
  auto train = sgd.Minimize(root, loss);
  ASSERT_FALSE(train.ok());
  EXPECT_NE(train.status().message().find(
                "the loss loss:0 depends on no floating-point variable"),
            std::string::npos)
      << train.status();

  Scope other = Scope::NewRootScope();
  auto w = ops::VariableV2(other.WithOpName("w"), PartialTensorShape({-1}),
                           DT_FLOAT);
  MomentumOptimizer momentum(0.1, 0.9);
  train = momentum.Minimize(other, ops::Sum(other, w, {0}));
  ASSERT_FALSE(train.ok());
  EXPECT_NE(
      train.status().message().find("variable 'w' needs a fully defined shape"),
      std::string::npos)
      << train.status();
}

}  // namespace
}  // namespace rill
