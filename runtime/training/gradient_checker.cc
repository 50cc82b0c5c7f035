#include "runtime/training/gradient_checker.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "runtime/session/session.h"
#include "runtime/training/gradients.h"

namespace rill {

absl::StatusOr<double> MaxGradientError(const Scope& scope,
                                        const std::vector<Output>& xs,
                                        const std::vector<Tensor>& x_values,
                                        const Output& y, double delta) {
  if (xs.size() != x_values.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(xs.size(), " xs but ", x_values.size(), " values"));
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].type() != DT_DOUBLE || x_values[i].dtype() != DT_DOUBLE) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the gradient checker works in float64; x ", i, " is not"));
    }
  }
  if (BaseType(y.type()) != DT_DOUBLE) {
    return absl::InvalidArgumentError("the checked output must be float64");
  }
  Output dy = ops::Placeholder(scope.WithOpName("checker_dy"), DT_DOUBLE);
  std::vector<Output> dxs;
  RETURN_IF_ERROR(AddSymbolicGradients(scope, {y}, xs, {dy}, &dxs));
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(scope.ToGraphDef(&def));
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(def));

  std::vector<std::pair<std::string, Tensor>> feeds;
  for (size_t i = 0; i < xs.size(); ++i) {
    feeds.emplace_back(xs[i].name(), x_values[i]);
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> y0, session->Run(feeds, {y.name()}, {}));
  const int64_t ny = y0[0].NumElements();
  std::vector<std::string> dx_names;
  for (const Output& dx : dxs) dx_names.push_back(dx.name());

  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const int64_t nx = x_values[i].NumElements();
    // symbolic[k][j] = d y_j / d x_k.
    std::vector<std::vector<double>> symbolic(nx, std::vector<double>(ny));
    for (int64_t j = 0; j < ny; ++j) {
      ASSIGN_OR_RETURN(Tensor onehot, Tensor::Create(DT_DOUBLE, y0[0].shape()));
      onehot.flat<double>()[j] = 1;
      auto run_feeds = feeds;
      run_feeds.emplace_back(dy.name(), onehot);
      ASSIGN_OR_RETURN(std::vector<Tensor> got,
                       session->Run(run_feeds, {dx_names[i]}, {}));
      if (got[0].NumElements() != nx) {
        return absl::InternalError(
            absl::StrCat("the gradient of x ", i, " has shape ",
                         got[0].shape().DebugString(), ", x has ",
                         x_values[i].shape().DebugString()));
      }
      for (int64_t k = 0; k < nx; ++k)
        symbolic[k][j] = got[0].flat<double>()[k];
    }
    for (int64_t k = 0; k < nx; ++k) {
      std::vector<double> side[2];
      for (int s = 0; s < 2; ++s) {
        auto run_feeds = feeds;
        ASSIGN_OR_RETURN(Tensor moved, x_values[i].DeepCopy());
        moved.flat<double>()[k] += s == 0 ? delta : -delta;
        run_feeds[i].second = moved;
        ASSIGN_OR_RETURN(std::vector<Tensor> got,
                         session->Run(run_feeds, {y.name()}, {}));
        side[s].assign(got[0].flat<double>().begin(),
                       got[0].flat<double>().end());
      }
      for (int64_t j = 0; j < ny; ++j) {
        const double numeric = (side[0][j] - side[1][j]) / (2 * delta);
        const double diff = std::abs(numeric - symbolic[k][j]);
        if (std::isnan(diff)) return std::numeric_limits<double>::infinity();
        worst = std::max(worst, diff);
      }
    }
  }
  return worst;
}

}  // namespace rill
