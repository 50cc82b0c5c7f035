// rill fit: exact algorithms in the statistical-query form of Chu et al.
// (2007), "Map-Reduce for Machine Learning on Multicore": every quantity
// the algorithm needs is a sum over the examples, so each worker computes
// the sums over its own shard (the map, a graph on its task) and the
// cluster adds them (the reduce: an AddN on the driver's task that the
// master's partitioner feeds with Send/Recv pairs); the driver turns the
// sums into the next parameters. The answer is the one-machine answer: only
// the order of the additions differs.
//
// The same cluster and graph machinery as `rill train`: the data sharded
// over the worker tasks once (each shard a variable on its task), one
// session on the master, parameters fed from the driver at each query.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <eigen3/Eigen/Dense>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_session.h"
#include "runtime/session/session.h"
#include "tools/commands.h"
#include "tools/tensor_text.h"
#include "tools/train_common.h"

namespace rill::tools {
namespace {

using Clock = std::chrono::steady_clock;
using Matrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

constexpr const char* kAlgorithms[] = {"kmeans", "logreg", "linreg",
                                       "naive-bayes", "pca"};

struct FitFlags {
  std::string algorithm;
  std::string data, labels, eval, eval_labels;
  std::map<std::string, int> local_cluster;
  std::string cluster_json;
  int64_t k = 8;           // kmeans: clusters.
  int64_t components = 2;  // pca.
  int64_t iterations = 100;
  double tolerance = 1e-9;
  double l2 = 0;  // logreg, linreg: ridge penalty (not on the intercept).
  int64_t seed = 0;
  bool json = false;
};

absl::StatusOr<FitFlags> ParseFitFlags(const Args& args) {
  FitFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      if (!f.algorithm.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", arg, "' (the algorithm is '",
                         f.algorithm, "')"));
      }
      f.algorithm = arg;
      continue;
    }
    std::string name = arg, value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) return FlagError(name, "needs a value");
      value = args[++i];
    }
    if (name == "--data") {
      f.data = value;
    } else if (name == "--labels") {
      f.labels = value;
    } else if (name == "--eval") {
      f.eval = value;
    } else if (name == "--eval-labels") {
      f.eval_labels = value;
    } else if (name == "--cluster") {
      f.cluster_json = value;
    } else if (name == "--local-cluster") {
      ASSIGN_OR_RETURN(f.local_cluster, ParseLocalCluster(name, value));
      if (f.local_cluster.contains("ps") && f.local_cluster.at("ps") > 0) {
        return FlagError(name, "rill fit uses no ps tasks: give ps=0");
      }
    } else if (name == "--k") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.k));
    } else if (name == "--components") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.components));
    } else if (name == "--iterations") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.iterations));
    } else if (name == "--tolerance") {
      RETURN_IF_ERROR(ParseNumber(name, value, 0.0, &f.tolerance));
    } else if (name == "--l2") {
      RETURN_IF_ERROR(ParseNumber(name, value, 0.0, &f.l2));
    } else if (name == "--seed") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 0, &f.seed));
    } else if (name == "--format") {
      RETURN_IF_ERROR(ParseFormat(name, value, &f.json));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", name, "'; run 'rill help'"));
    }
  }
  if (f.algorithm.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "usage: rill fit ALGORITHM --data FILE.npy [flags]; ALGORITHM is one "
        "of ",
        absl::StrJoin(kAlgorithms, ", ")));
  }
  if (std::find(std::begin(kAlgorithms), std::end(kAlgorithms), f.algorithm) ==
      std::end(kAlgorithms)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown algorithm '", f.algorithm, "'; one of ",
                     absl::StrJoin(kAlgorithms, ", ")));
  }
  if (f.data.empty()) return FlagError("--data", "is required");
  const bool supervised = f.algorithm == "logreg" || f.algorithm == "linreg" ||
                          f.algorithm == "naive-bayes";
  if (supervised && f.labels.empty()) {
    return FlagError("--labels", absl::StrCat("is required for ", f.algorithm));
  }
  if (!supervised && !f.labels.empty()) {
    return FlagError("--labels", absl::StrCat(f.algorithm, " takes none"));
  }
  if (f.eval.empty() != (supervised ? f.eval_labels.empty() : true)) {
    if (supervised) {
      return FlagError(f.eval.empty() ? "--eval-labels" : "--eval",
                       "needs --eval and --eval-labels together");
    }
  }
  if (!supervised && !f.eval_labels.empty()) {
    return FlagError("--eval-labels", absl::StrCat(f.algorithm, " takes none"));
  }
  if (!f.cluster_json.empty() && !f.local_cluster.empty()) {
    return absl::InvalidArgumentError(
        "give --cluster or --local-cluster, not both");
  }
  return f;
}

// The numbers of a tensor of a numeric .npy dtype, as doubles.
absl::StatusOr<std::vector<double>> ToDoubles(const Tensor& t) {
  auto all = [&](auto tag) {
    using T = decltype(tag);
    std::span<const T> v = t.flat<T>();
    return std::vector<double>(v.begin(), v.end());
  };
  switch (t.dtype()) {
    case DT_FLOAT:
      return all(float{});
    case DT_DOUBLE:
      return all(double{});
    case DT_INT8:
      return all(int8_t{});
    case DT_INT16:
      return all(int16_t{});
    case DT_INT32:
      return all(int32_t{});
    case DT_INT64:
      return all(int64_t{});
    case DT_UINT8:
      return all(uint8_t{});
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("holds ", NumpyName(t.dtype()), ", not numbers"));
  }
}

// Examples as rows of doubles, and their labels (one per row) when given.
struct Examples {
  Tensor x, y;  // As the files hold them.
  Matrix rows;  // x as doubles.
  Vector labels;
};

absl::StatusOr<Examples> LoadExamples(const std::string& flag,
                                      const std::string& path,
                                      const std::string& labels_flag,
                                      const std::string& labels_path) {
  Examples e;
  auto named = [&](const std::string& which, const std::string& file,
                   const absl::Status& s) {
    return absl::Status(s.code(),
                        absl::StrCat(which, " ", file, ": ", s.message()));
  };
  absl::StatusOr<Tensor> x = ReadNpy(path, DT_INVALID);
  if (!x.ok()) return named(flag, path, x.status());
  if (x->dims() != 2 || x->dim_size(0) < 1 || x->dim_size(1) < 1) {
    return FlagError(flag, absl::StrCat(path,
                                        " must hold a matrix of at least "
                                        "one row and one column, not "
                                        "shape ",
                                        x->shape().DebugString()));
  }
  absl::StatusOr<std::vector<double>> values = ToDoubles(*x);
  if (!values.ok()) return named(flag, path, values.status());
  e.x = *std::move(x);
  e.rows = Eigen::Map<const Matrix>(values->data(), e.x.dim_size(0),
                                    e.x.dim_size(1));
  if (!e.rows.allFinite()) {
    return FlagError(flag, absl::StrCat(path, " holds NaN or infinity"));
  }
  if (labels_path.empty()) return e;
  absl::StatusOr<Tensor> y = ReadNpy(labels_path, DT_INVALID);
  if (!y.ok()) return named(labels_flag, labels_path, y.status());
  if (y->dims() == 2 && y->dim_size(1) == 1) {
    ASSIGN_OR_RETURN(*y, y->Reshape(TensorShape({y->dim_size(0)})));
  }
  if (y->dims() != 1 || y->dim_size(0) != e.x.dim_size(0)) {
    return FlagError(labels_flag,
                     absl::StrCat(labels_path,
                                  " must hold one label per row "
                                  "of ",
                                  path, " (", e.x.dim_size(0), "), not shape ",
                                  y->shape().DebugString()));
  }
  absl::StatusOr<std::vector<double>> labels = ToDoubles(*y);
  if (!labels.ok()) return named(labels_flag, labels_path, labels.status());
  e.y = *std::move(y);
  e.labels = Eigen::Map<const Vector>(labels->data(), labels->size());
  if (!e.labels.allFinite()) {
    return FlagError(labels_flag,
                     absl::StrCat(labels_path, " holds NaN or infinity"));
  }
  return e;
}

Tensor ToTensor(const Matrix& m) {
  std::vector<double> values(m.data(), m.data() + m.size());
  return Tensor::FromVector<double>(values, TensorShape({m.rows(), m.cols()}));
}

Matrix ToMatrix(const Tensor& t) {
  const int64_t rows = t.dims() == 0 ? 1 : t.dim_size(0);
  return Eigen::Map<const Matrix>(t.flat<double>().data(), rows,
                                  t.NumElements() / rows);
}

// A result's number, exactly (as many digits as a double has).
std::string Exact(double v) { return JsonNumber(v, 17); }

Vector ToVector(const Tensor& t) {
  return Eigen::Map<const Vector>(t.flat<double>().data(), t.NumElements());
}

std::string JsonMatrix(const Matrix& m) {
  std::vector<std::string> rows;
  for (int64_t r = 0; r < m.rows(); ++r) {
    std::vector<std::string> row;
    for (int64_t c = 0; c < m.cols(); ++c) row.push_back(Exact(m(r, c)));
    rows.push_back(absl::StrCat("[", absl::StrJoin(row, ", "), "]"));
  }
  return absl::StrCat("[", absl::StrJoin(rows, ", "), "]");
}

std::string JsonVector(const Vector& v) {
  std::vector<std::string> values;
  for (int64_t i = 0; i < v.size(); ++i) values.push_back(Exact(v(i)));
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

// A worker's shard as the maps read it: rows of doubles, labels as a column
// of doubles and as class ids, and the held-out rows when given.
struct Shard {
  Output x, y, classes;
  Output eval_x, eval_y, eval_classes;
  bool has_y = false, has_eval = false;
};

// The queries of a run: each a map on every worker's shard and a sum on
// the driver's task.
class Queries {
 public:
  Queries(std::unique_ptr<SessionInterface> session,
          std::vector<std::vector<std::string>> fetches, int workers,
          bool remote)
      : session_(std::move(session)),
        fetches_(std::move(fetches)),
        workers_(workers),
        remote_(remote) {}

  // The sums of query q's statistics over every shard, `feeds` (the
  // parameters) sent to every worker.
  absl::StatusOr<std::vector<Tensor>> Run(
      int q, const std::vector<std::pair<std::string, Tensor>>& feeds) {
    ASSIGN_OR_RETURN(std::vector<Tensor> sums,
                     session_->Run(feeds, fetches_[q], {}));
    ++runs_;
    if (remote_) {
      for (const auto& [name, t] : feeds) {
        bytes_ += workers_ * static_cast<int64_t>(t.TotalBytes());
      }
      for (const Tensor& t : sums) {
        bytes_ += workers_ * static_cast<int64_t>(t.TotalBytes());
      }
    }
    return sums;
  }
  int64_t runs() const { return runs_; }
  int64_t bytes_sent() const { return bytes_; }

 private:
  std::unique_ptr<SessionInterface> session_;
  std::vector<std::vector<std::string>> fetches_;
  const int workers_;
  const bool remote_;
  int64_t runs_ = 0, bytes_ = 0;
};

// What an algorithm found: JSON fields and text lines.
struct Report {
  int64_t iterations = 0;
  bool converged = true;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> lines;
  void Add(const std::string& key, const std::string& json) {
    fields.emplace_back(key, json);
  }
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // Placeholders for the parameters the maps read, on the driver's task.
  virtual void AddParameters(const Scope& driver) {}
  // Per query, the statistics one shard contributes (empty for a query it
  // cannot answer, such as an evaluation without held-out data).
  virtual std::vector<std::vector<Output>> Map(const Scope& s,
                                               const Shard& shard) = 0;
  // Runs queries to the answer.
  virtual absl::Status Drive(Queries& q, Report& r) = 0;
};

Output Column(const Scope& s, Output v) { return ops::Reshape(s, v, {-1, 1}); }

// x with a column of ones: the intercept's feature.
Output WithOnes(const Scope& s, Output x) {
  auto first = ops::Slice(s, x, {0, 0}, {-1, 1});
  return ops::ConcatV2(s, {x, ops::OnesLike(s, first)}, 1);
}

Output Rows(const Scope& s, Output x) {
  return ops::Sum(s, ops::OnesLike(s, ops::Slice(s, x, {0, 0}, {-1, 1})),
                  {0, 1});
}

// --- k-means (Lloyd's iterations): the map assigns each row to its nearest
// centroid and sums the rows and their count per centroid.
class KMeans : public Algorithm {
 public:
  KMeans(const FitFlags& f, const Examples& train, bool has_eval)
      : f_(f), train_(train), has_eval_(has_eval) {}

  void AddParameters(const Scope& driver) override {
    centroids_ =
        ops::Placeholder(driver.WithOpName("centroids"), DT_DOUBLE).output;
  }

  std::vector<std::vector<Output>> Map(const Scope& s,
                                       const Shard& shard) override {
    auto assign = [&](const Scope& a, Output x) -> std::vector<Output> {
      auto xx = ops::Sum(a, ops::Square(a, x), {1}, ops::Sum::KeepDims(true));
      auto cc = ops::Reshape(a, ops::Sum(a, ops::Square(a, centroids_), {1}),
                             {1, -1});
      auto xc = ops::MatMul(a, x, centroids_, ops::MatMul::TransposeB(true));
      auto dist = ops::AddV2(a, ops::Sub(a, xx, ops::Mul(a, 2.0, xc)), cc);
      auto nearest = ops::ArgMin(a, dist, 1);
      auto one_hot =
          ops::OneHot(a, nearest, static_cast<int32_t>(f_.k), 1.0, 0.0);
      auto sums = ops::MatMul(a, one_hot, x, ops::MatMul::TransposeA(true));
      auto counts = ops::Sum(a, one_hot, {0});
      // The squared distance to the nearest centroid (never below 0).
      auto cost =
          ops::Sum(a, ops::Maximum(a, ops::Min(a, dist, {1}), 0.0), {0});
      return {sums, counts, cost};
    };
    std::vector<std::vector<Output>> q = {
        assign(s.NewSubScope("assign"), shard.x)};
    if (shard.has_eval) {
      q.push_back({assign(s.NewSubScope("eval"), shard.eval_x)[2]});
    }
    return q;
  }

  absl::Status Drive(Queries& q, Report& r) override {
    const Matrix& x = train_.rows;
    if (f_.k > x.rows()) {
      return FlagError("--k",
                       absl::StrCat(f_.k, " clusters for ", x.rows(), " rows"));
    }
    // k distinct rows chosen by the seed (the same on any number of
    // workers: the answer depends on the data and the seed only).
    std::vector<int64_t> order(x.rows());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(f_.seed));
    std::shuffle(order.begin(), order.end(), rng);
    Matrix c(f_.k, x.cols());
    for (int64_t i = 0; i < f_.k; ++i) c.row(i) = x.row(order[i]);
    double cost = 0;
    Vector counts;
    r.converged = false;
    while (r.iterations < f_.iterations) {
      ASSIGN_OR_RETURN(std::vector<Tensor> sums,
                       q.Run(0, {{"centroids", ToTensor(c)}}));
      ++r.iterations;
      Matrix next = ToMatrix(sums[0]);
      counts = ToVector(sums[1]);
      cost = sums[2].scalar<double>();
      for (int64_t i = 0; i < f_.k; ++i) {
        // An empty cluster keeps its centroid.
        next.row(i) =
            counts(i) > 0 ? Matrix(next.row(i) / counts(i)) : Matrix(c.row(i));
      }
      const double shift = (next - c).cwiseAbs().maxCoeff();
      const double scale = std::max(1.0, c.cwiseAbs().maxCoeff());
      c = std::move(next);
      if (shift <= f_.tolerance * scale) {
        r.converged = true;
        break;
      }
    }
    // The cost and sizes of the final centroids.
    ASSIGN_OR_RETURN(std::vector<Tensor> last,
                     q.Run(0, {{"centroids", ToTensor(c)}}));
    counts = ToVector(last[1]);
    cost = last[2].scalar<double>();
    r.Add("centroids", JsonMatrix(c));
    r.Add("sizes", JsonVector(counts));
    r.Add("cost", Exact(cost));
    r.lines.push_back(absl::StrCat(f_.k, " clusters, cost ", JsonNumber(cost),
                                   " (sum of squared distances) on ", x.rows(),
                                   " rows"));
    if (has_eval_) {
      ASSIGN_OR_RETURN(std::vector<Tensor> eval,
                       q.Run(1, {{"centroids", ToTensor(c)}}));
      r.Add("eval_cost", Exact(eval[0].scalar<double>()));
      r.lines.push_back(
          absl::StrCat("held-out cost ", JsonNumber(eval[0].scalar<double>())));
    }
    return absl::OkStatus();
  }

 private:
  const FitFlags& f_;
  const Examples& train_;
  const bool has_eval_;
  Output centroids_;
};

// --- logistic regression by Newton's method: the map gives the gradient
// and the Hessian of the log-likelihood over its rows.
class LogReg : public Algorithm {
 public:
  LogReg(const FitFlags& f, const Examples& train, bool has_eval)
      : f_(f), train_(train), has_eval_(has_eval) {}

  void AddParameters(const Scope& driver) override {
    weights_ = ops::Placeholder(driver.WithOpName("weights"), DT_DOUBLE).output;
  }

  std::vector<std::vector<Output>> Map(const Scope& s,
                                       const Shard& shard) override {
    // The log-likelihood, the rows classified right, and the rows.
    auto fit = [&](const Scope& a, Output x, Output y, Output* p,
                   Output* xa) -> std::vector<Output> {
      *xa = WithOnes(a, x);
      auto z = ops::MatMul(a, *xa, weights_);
      *p = ops::Sigmoid(a, z);
      // log(1 + e^z) without overflow.
      auto softplus =
          ops::AddV2(a, ops::Maximum(a, z, 0.0),
                     ops::Log1p(a, ops::Exp(a, ops::Neg(a, ops::Abs(a, z)))));
      auto loglik =
          ops::Sum(a, ops::Sub(a, ops::Mul(a, y, z), softplus), {0, 1});
      auto predicted = ops::Cast(a, ops::Greater(a, z, 0.0), DT_DOUBLE);
      auto right = ops::Sum(
          a, ops::Sub(a, 1.0, ops::Abs(a, ops::Sub(a, predicted, y))), {0, 1});
      return {loglik, right, Rows(a, x)};
    };
    Scope a = s.NewSubScope("newton");
    Output p, xa;
    std::vector<Output> stats = fit(a, shard.x, shard.y, &p, &xa);
    auto gradient = ops::MatMul(a, xa, ops::Sub(a, shard.y, p),
                                ops::MatMul::TransposeA(true));
    auto w = ops::Mul(a, p, ops::Sub(a, 1.0, p));
    auto hessian =
        ops::MatMul(a, ops::Mul(a, xa, w), xa, ops::MatMul::TransposeA(true));
    stats.insert(stats.begin(), {gradient, hessian});
    std::vector<std::vector<Output>> q = {stats};
    if (shard.has_eval) {
      q.push_back(
          fit(s.NewSubScope("eval"), shard.eval_x, shard.eval_y, &p, &xa));
    }
    return q;
  }

  absl::Status Drive(Queries& q, Report& r) override {
    for (int64_t i = 0; i < train_.labels.size(); ++i) {
      if (train_.labels(i) != 0 && train_.labels(i) != 1) {
        return FlagError("--labels",
                         absl::StrCat("logreg needs labels 0 and "
                                      "1; row ",
                                      i, " has ", train_.labels(i)));
      }
    }
    const int64_t d = train_.rows.cols() + 1;
    Vector w = Vector::Zero(d);
    Vector penalty = Vector::Constant(d, f_.l2);
    penalty(d - 1) = 0;  // Not on the intercept.
    std::vector<Tensor> stats;
    r.converged = false;
    while (r.iterations < f_.iterations) {
      ASSIGN_OR_RETURN(stats, q.Run(0, {{"weights", ToTensor(w)}}));
      ++r.iterations;
      const Vector g =
          Vector(ToMatrix(stats[0]).col(0)) - penalty.cwiseProduct(w);
      Matrix h = ToMatrix(stats[1]);
      h.diagonal() += penalty;
      Eigen::LDLT<Matrix> solver(h);
      const Vector step = solver.solve(g);
      if (solver.info() != Eigen::Success || !step.allFinite()) {
        return absl::FailedPreconditionError(
            "logreg: the Hessian is singular (separable classes or a "
            "constant feature); give --l2");
      }
      w += step;
      if (step.cwiseAbs().maxCoeff() <=
          f_.tolerance * std::max(1.0, w.cwiseAbs().maxCoeff())) {
        r.converged = true;
        break;
      }
    }
    ASSIGN_OR_RETURN(stats, q.Run(0, {{"weights", ToTensor(w)}}));
    const double rows = stats[4].scalar<double>();
    r.Add("weights", JsonVector(w.head(d - 1)));
    r.Add("intercept", Exact(w(d - 1)));
    r.Add("log_likelihood", Exact(stats[2].scalar<double>()));
    r.Add("accuracy", Exact(stats[3].scalar<double>() / rows));
    r.lines.push_back(absl::StrCat(
        "log-likelihood ", JsonNumber(stats[2].scalar<double>()), ", accuracy ",
        JsonNumber(stats[3].scalar<double>() / rows), " on ", rows, " rows"));
    if (has_eval_) {
      ASSIGN_OR_RETURN(std::vector<Tensor> eval,
                       q.Run(1, {{"weights", ToTensor(w)}}));
      const double accuracy =
          eval[1].scalar<double>() / eval[2].scalar<double>();
      r.Add("eval_accuracy", Exact(accuracy));
      r.lines.push_back(
          absl::StrCat("held-out accuracy ", JsonNumber(accuracy)));
    }
    return absl::OkStatus();
  }

 private:
  const FitFlags& f_;
  const Examples& train_;
  const bool has_eval_;
  Output weights_;
};

// --- linear regression by the normal equations: one pass for X'X and X'y.
class LinReg : public Algorithm {
 public:
  LinReg(const FitFlags& f, bool has_eval) : f_(f), has_eval_(has_eval) {}

  void AddParameters(const Scope& driver) override {
    weights_ = ops::Placeholder(driver.WithOpName("weights"), DT_DOUBLE).output;
  }

  std::vector<std::vector<Output>> Map(const Scope& s,
                                       const Shard& shard) override {
    Scope a = s.NewSubScope("normal");
    auto xa = WithOnes(a, shard.x);
    auto gram = ops::MatMul(a, xa, xa, ops::MatMul::TransposeA(true));
    auto moment = ops::MatMul(a, xa, shard.y, ops::MatMul::TransposeA(true));
    std::vector<std::vector<Output>> q = {{gram, moment}};
    // The squared error of given weights, and the rows.
    auto error = [&](const Scope& e, Output x,
                     Output y) -> std::vector<Output> {
      auto residual = ops::Sub(e, ops::MatMul(e, WithOnes(e, x), weights_), y);
      return {ops::Sum(e, ops::Square(e, residual), {0, 1}), Rows(e, x)};
    };
    q.push_back(error(s.NewSubScope("error"), shard.x, shard.y));
    if (shard.has_eval) {
      q.push_back(error(s.NewSubScope("eval"), shard.eval_x, shard.eval_y));
    }
    return q;
  }

  absl::Status Drive(Queries& q, Report& r) override {
    ASSIGN_OR_RETURN(std::vector<Tensor> sums, q.Run(0, {}));
    r.iterations = 1;
    Matrix gram = ToMatrix(sums[0]);
    const int64_t d = gram.rows();
    gram.diagonal().head(d - 1).array() += f_.l2;
    Eigen::LDLT<Matrix> solver(gram);
    const Vector w = solver.solve(Vector(ToMatrix(sums[1]).col(0)));
    if (solver.info() != Eigen::Success || !w.allFinite() ||
        !(gram * w).isApprox(Vector(ToMatrix(sums[1]).col(0)), 1e-6)) {
      return absl::FailedPreconditionError(
          "linreg: X'X is singular (collinear or constant features, or fewer "
          "rows than features); give --l2");
    }
    ASSIGN_OR_RETURN(std::vector<Tensor> error,
                     q.Run(1, {{"weights", ToTensor(w)}}));
    const double rmse =
        std::sqrt(error[0].scalar<double>() / error[1].scalar<double>());
    r.Add("weights", JsonVector(w.head(d - 1)));
    r.Add("intercept", Exact(w(d - 1)));
    r.Add("rmse", Exact(rmse));
    r.lines.push_back(absl::StrCat("root mean squared error ", JsonNumber(rmse),
                                   " on ", error[1].scalar<double>(), " rows"));
    if (has_eval_) {
      ASSIGN_OR_RETURN(std::vector<Tensor> eval,
                       q.Run(2, {{"weights", ToTensor(w)}}));
      const double eval_rmse =
          std::sqrt(eval[0].scalar<double>() / eval[1].scalar<double>());
      r.Add("eval_rmse", Exact(eval_rmse));
      r.lines.push_back(absl::StrCat("held-out root mean squared error ",
                                     JsonNumber(eval_rmse)));
    }
    return absl::OkStatus();
  }

 private:
  const FitFlags& f_;
  const bool has_eval_;
  Output weights_;
};

// --- Gaussian naive Bayes: per class, the rows, the sums and the sums of
// squares of each feature; prediction is a second map.
class NaiveBayes : public Algorithm {
 public:
  NaiveBayes(const Examples& train, int64_t classes, bool has_eval)
      : train_(train), classes_(classes), has_eval_(has_eval) {}

  void AddParameters(const Scope& driver) override {
    for (const char* name : {"quadratic", "linear", "constant"}) {
      scores_.push_back(
          ops::Placeholder(driver.WithOpName(name), DT_DOUBLE).output);
    }
  }

  std::vector<std::vector<Output>> Map(const Scope& s,
                                       const Shard& shard) override {
    Scope a = s.NewSubScope("moments");
    auto one_hot =
        ops::OneHot(a, shard.classes, static_cast<int32_t>(classes_), 1.0, 0.0);
    auto counts = ops::Sum(a, one_hot, {0});
    auto sums = ops::MatMul(a, one_hot, shard.x, ops::MatMul::TransposeA(true));
    auto squares = ops::MatMul(a, one_hot, ops::Square(a, shard.x),
                               ops::MatMul::TransposeA(true));
    std::vector<std::vector<Output>> q = {{counts, sums, squares}};
    // Rows classified right: each class's log-density is quadratic in x.
    auto right = [&](const Scope& p, Output x,
                     Output classes) -> std::vector<Output> {
      auto score = ops::AddV2(
          p,
          ops::AddV2(p, ops::MatMul(p, ops::Square(p, x), scores_[0]),
                     ops::MatMul(p, x, scores_[1])),
          scores_[2]);
      auto predicted =
          ops::ArgMax(p, score, 1, ops::ArgMax::OutputType(DT_INT32));
      return {ops::Sum(
                  p, ops::Cast(p, ops::Equal(p, predicted, classes), DT_DOUBLE),
                  {0}),
              Rows(p, x)};
    };
    q.push_back(right(s.NewSubScope("predict"), shard.x, shard.classes));
    if (shard.has_eval) {
      q.push_back(
          right(s.NewSubScope("eval"), shard.eval_x, shard.eval_classes));
    }
    return q;
  }

  absl::Status Drive(Queries& q, Report& r) override {
    ASSIGN_OR_RETURN(std::vector<Tensor> sums, q.Run(0, {}));
    r.iterations = 1;
    const Vector counts = ToVector(sums[0]);
    const Matrix s = ToMatrix(sums[1]), s2 = ToMatrix(sums[2]);
    const double n = counts.sum();
    // Every variance is raised by 1e-9 of the largest feature variance, as
    // scikit-learn's var_smoothing does, so a constant feature divides by
    // no zero.
    const Vector all_mean = s.colwise().sum().transpose() / n;
    const Vector all_var =
        (s2.colwise().sum().transpose() / n - all_mean.cwiseAbs2())
            .cwiseMax(0.0);
    const double epsilon = 1e-9 * std::max(all_var.maxCoeff(), 1e-300);
    Matrix mean(classes_, s.cols()), var(classes_, s.cols());
    Vector prior(classes_);
    Matrix quadratic(s.cols(), classes_), linear(s.cols(), classes_),
        constant(1, classes_);
    for (int64_t c = 0; c < classes_; ++c) {
      prior(c) = counts(c) / n;
      if (counts(c) == 0) {
        mean.row(c).setZero();
        var.row(c).setConstant(1);
        quadratic.col(c).setZero();
        linear.col(c).setZero();
        constant(0, c) = -std::numeric_limits<double>::infinity();
        continue;
      }
      mean.row(c) = s.row(c) / counts(c);
      var.row(c) = (s2.row(c) / counts(c) - mean.row(c).cwiseAbs2())
                       .cwiseMax(0.0)
                       .array() +
                   epsilon;
      const Eigen::ArrayXd v = var.row(c).transpose().array();
      const Eigen::ArrayXd m = mean.row(c).transpose().array();
      quadratic.col(c) = (-0.5 / v).matrix();
      linear.col(c) = (m / v).matrix();
      constant(0, c) = std::log(prior(c)) - 0.5 * (2 * M_PI * v).log().sum() -
                       0.5 * (m.square() / v).sum();
    }
    const std::vector<std::pair<std::string, Tensor>> model = {
        {"quadratic", ToTensor(quadratic)},
        {"linear", ToTensor(linear)},
        {"constant", ToTensor(constant)}};
    ASSIGN_OR_RETURN(std::vector<Tensor> right, q.Run(1, model));
    const double accuracy =
        right[0].scalar<double>() / right[1].scalar<double>();
    r.Add("priors", JsonVector(prior));
    r.Add("means", JsonMatrix(mean));
    r.Add("variances", JsonMatrix(var));
    r.Add("accuracy", Exact(accuracy));
    r.lines.push_back(absl::StrCat(classes_, " classes, accuracy ",
                                   JsonNumber(accuracy), " on ", n, " rows"));
    if (has_eval_) {
      ASSIGN_OR_RETURN(std::vector<Tensor> eval, q.Run(2, model));
      const double eval_accuracy =
          eval[0].scalar<double>() / eval[1].scalar<double>();
      r.Add("eval_accuracy", Exact(eval_accuracy));
      r.lines.push_back(
          absl::StrCat("held-out accuracy ", JsonNumber(eval_accuracy)));
    }
    return absl::OkStatus();
  }

 private:
  const Examples& train_;
  const int64_t classes_;
  const bool has_eval_;
  std::vector<Output> scores_;
};

// --- PCA through the covariance: a pass for the mean, a pass for the
// centered scatter matrix; the eigenvectors are found on the driver.
class Pca : public Algorithm {
 public:
  Pca(const FitFlags& f, int64_t features) : f_(f), features_(features) {}

  void AddParameters(const Scope& driver) override {
    mean_ = ops::Placeholder(driver.WithOpName("mean"), DT_DOUBLE).output;
  }

  std::vector<std::vector<Output>> Map(const Scope& s,
                                       const Shard& shard) override {
    Scope a = s.NewSubScope("mean");
    std::vector<std::vector<Output>> q = {
        {ops::Sum(a, shard.x, {0}), Rows(a, shard.x)}};
    Scope b = s.NewSubScope("scatter");
    auto centered = ops::Sub(b, shard.x, mean_);
    q.push_back(
        {ops::MatMul(b, centered, centered, ops::MatMul::TransposeA(true))});
    return q;
  }

  absl::Status Drive(Queries& q, Report& r) override {
    if (f_.components > features_) {
      return FlagError("--components",
                       absl::StrCat(f_.components, " components of ", features_,
                                    " features"));
    }
    ASSIGN_OR_RETURN(std::vector<Tensor> first, q.Run(0, {}));
    const double n = first[1].scalar<double>();
    if (n < 2) {
      return FlagError("--data", "PCA needs at least two rows");
    }
    const Matrix mean = ToVector(first[0]).transpose() / n;
    ASSIGN_OR_RETURN(std::vector<Tensor> second,
                     q.Run(1, {{"mean", ToTensor(mean)}}));
    r.iterations = 2;
    const Matrix covariance = ToMatrix(second[0]) / (n - 1);
    Eigen::SelfAdjointEigenSolver<Matrix> eigen(covariance);
    if (eigen.info() != Eigen::Success) {
      return absl::InternalError(
          "pca: the eigendecomposition did not converge");
    }
    // Largest first; each component's sign makes its largest entry positive.
    Matrix components(f_.components, features_);
    Vector variance(f_.components);
    for (int64_t i = 0; i < f_.components; ++i) {
      const int64_t at = features_ - 1 - i;
      Vector v = eigen.eigenvectors().col(at);
      Eigen::Index largest;
      v.cwiseAbs().maxCoeff(&largest);
      if (v(largest) < 0) v = -v;
      components.row(i) = v.transpose();
      variance(i) = std::max(0.0, eigen.eigenvalues()(at));
    }
    const double total = std::max(covariance.trace(), 1e-300);
    r.Add("mean", JsonVector(mean.row(0).transpose()));
    r.Add("components", JsonMatrix(components));
    r.Add("explained_variance", JsonVector(variance));
    r.Add("explained_variance_ratio", JsonVector(variance / total));
    r.lines.push_back(absl::StrCat(f_.components, " components explain ",
                                   JsonNumber(variance.sum() / total),
                                   " of the variance of ", n, " rows"));
    return absl::OkStatus();
  }

 private:
  const FitFlags& f_;
  const int64_t features_;
  Output mean_;
};

}  // namespace

absl::Status Fit(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(FitFlags f, ParseFitFlags(args));
  ASSIGN_OR_RETURN(Examples train,
                   LoadExamples("--data", f.data, "--labels", f.labels));
  Examples eval;
  const bool has_eval = !f.eval.empty();
  if (has_eval) {
    ASSIGN_OR_RETURN(
        eval, LoadExamples("--eval", f.eval, "--eval-labels", f.eval_labels));
    if (eval.x.dim_size(1) != train.x.dim_size(1)) {
      return FlagError(
          "--eval", absl::StrCat(f.eval, " has ", eval.x.dim_size(1),
                                 " columns, the data ", train.x.dim_size(1)));
    }
  }
  int64_t classes = 0;
  if (f.algorithm == "naive-bayes") {
    for (const Examples* e : {&train, &eval}) {
      for (int64_t i = 0; i < e->labels.size(); ++i) {
        const double label = e->labels(i);
        if (label < 0 || label != std::floor(label) || label > 1e6) {
          return FlagError(e == &train ? "--labels" : "--eval-labels",
                           absl::StrCat("naive-bayes needs class ids 0, 1, "
                                        "...; row ",
                                        i, " has ", label));
        }
        classes = std::max<int64_t>(classes, static_cast<int64_t>(label) + 1);
      }
    }
  }
  std::unique_ptr<Algorithm> algorithm;
  if (f.algorithm == "kmeans") {
    algorithm = std::make_unique<KMeans>(f, train, has_eval);
  } else if (f.algorithm == "logreg") {
    algorithm = std::make_unique<LogReg>(f, train, has_eval);
  } else if (f.algorithm == "linreg") {
    algorithm = std::make_unique<LinReg>(f, has_eval);
  } else if (f.algorithm == "naive-bayes") {
    algorithm = std::make_unique<NaiveBayes>(train, classes, has_eval);
  } else {
    algorithm = std::make_unique<Pca>(f, train.x.dim_size(1));
  }

  ASSIGN_OR_RETURN(Cluster cluster,
                   ConnectCluster(f.local_cluster, f.cluster_json, ""));
  const int workers = static_cast<int>(cluster.workers.size());
  if (train.x.dim_size(0) < workers) {
    return FlagError("--data",
                     absl::StrCat(f.data, " has ", train.x.dim_size(0),
                                  " rows for ", workers, " workers"));
  }
  // The graph: each worker's shard in variables on its task, its maps, and
  // the sums on the driver's task.
  Scope root = Scope::NewRootScope();
  Scope driver = root.NewSubScope("reduce").WithDevice(cluster.master_task);
  algorithm->AddParameters(root.WithDevice(cluster.master_task));
  std::vector<std::vector<std::vector<Output>>> maps;
  std::vector<std::string> loads;
  std::vector<std::pair<std::string, Tensor>> shards;
  for (int w = 0; w < workers; ++w) {
    Scope s = root.NewSubScope(absl::StrCat("worker_", w))
                  .WithDevice(cluster.master.empty()
                                  ? ""
                                  : absl::StrCat("/job:worker/task:", w));
    // One column of the shard: a variable loaded once, read as doubles.
    auto column = [&](const std::string& name, const Tensor& all,
                      int64_t rows) -> absl::StatusOr<Output> {
      const auto [lo, hi] = ShardRows(rows, w, workers);
      ASSIGN_OR_RETURN(Tensor part, all.Slice(lo, hi));
      auto var = ops::VariableV2(
          s.WithOpName(name), PartialTensorShape::UnknownRank(), all.dtype());
      auto value = ops::Placeholder(s.WithOpName(name + "/value"), all.dtype());
      auto load = ops::Assign(s.WithOpName(name + "/load"), var, value,
                              ops::Assign::ValidateShape(false));
      loads.push_back(load.node()->name());
      shards.emplace_back(value.node()->name(), std::move(part));
      return ops::Identity(s.WithOpName(name + "/read"), var).output;
    };
    Shard shard;
    ASSIGN_OR_RETURN(Output x, column("x", train.x, train.x.dim_size(0)));
    shard.x = ops::Cast(s, x, DT_DOUBLE);
    if (!f.labels.empty()) {
      ASSIGN_OR_RETURN(Output y, column("y", train.y, train.x.dim_size(0)));
      shard.has_y = true;
      shard.y = Column(s, ops::Cast(s, y, DT_DOUBLE));
      shard.classes = ops::Cast(s, y, DT_INT32);
    }
    if (has_eval) {
      shard.has_eval = true;
      ASSIGN_OR_RETURN(Output ex, column("eval_x", eval.x, eval.x.dim_size(0)));
      shard.eval_x = ops::Cast(s, ex, DT_DOUBLE);
      if (!f.eval_labels.empty()) {
        ASSIGN_OR_RETURN(Output ey,
                         column("eval_y", eval.y, eval.x.dim_size(0)));
        shard.eval_y = Column(s, ops::Cast(s, ey, DT_DOUBLE));
        shard.eval_classes = ops::Cast(s, ey, DT_INT32);
      }
    }
    maps.push_back(algorithm->Map(s, shard));
  }
  std::vector<std::vector<std::string>> fetches(maps[0].size());
  for (size_t q = 0; q < maps[0].size(); ++q) {
    for (size_t i = 0; i < maps[0][q].size(); ++i) {
      std::vector<Output> parts;
      for (int w = 0; w < workers; ++w) parts.push_back(maps[w][q][i]);
      Output sum =
          ops::AddN(driver.WithOpName(absl::StrCat("q", q, "_", i)), parts);
      fetches[q].push_back(absl::StrCat(sum.node()->name(), ":0"));
    }
  }
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));
  std::unique_ptr<SessionInterface> session;
  if (cluster.master.empty()) {
    ASSIGN_OR_RETURN(session, Session::Create(std::move(def)));
  } else {
    ASSIGN_OR_RETURN(session,
                     GrpcSession::Create(cluster.master, std::move(def)));
  }
  const auto start = Clock::now();
  RETURN_IF_ERROR(session->Run(shards, {}, loads).status());
  const double load_seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  Queries queries(std::move(session), std::move(fetches), workers,
                  !cluster.master.empty());
  Report report;
  const auto fit_start = Clock::now();
  RETURN_IF_ERROR(algorithm->Drive(queries, report));
  const double seconds =
      std::chrono::duration<double>(Clock::now() - fit_start).count();
  if (f.json) {
    std::vector<std::string> fields;
    for (const auto& [key, value] : report.fields) {
      fields.push_back(absl::StrCat(JsonString(key), ": ", value));
    }
    out << "{\"algorithm\": " << JsonString(f.algorithm)
        << ", \"workers\": " << workers << ", \"rows\": " << train.x.dim_size(0)
        << ", \"iterations\": " << report.iterations
        << ", \"converged\": " << (report.converged ? "true" : "false")
        << ", \"queries\": " << queries.runs()
        << ", \"seconds\": " << JsonNumber(seconds)
        << ", \"load_seconds\": " << JsonNumber(load_seconds)
        << ", \"bytes_sent\": " << queries.bytes_sent() << ", \"result\": {"
        << absl::StrJoin(fields, ", ") << "}}" << std::endl;
    return absl::OkStatus();
  }
  out << f.algorithm << " on " << workers << " worker"
      << (workers == 1 ? "" : "s") << ": " << report.iterations << " iteration"
      << (report.iterations == 1 ? "" : "s")
      << (report.converged ? "" : " (not converged: raise --iterations)")
      << ", " << queries.runs() << " map-reduce passes in "
      << JsonNumber(seconds) << " s, " << queries.bytes_sent()
      << " bytes sent\n";
  for (const std::string& line : report.lines) out << line << "\n";
  return absl::OkStatus();
}

}  // namespace rill::tools
