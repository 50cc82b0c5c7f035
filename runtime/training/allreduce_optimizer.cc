#include "runtime/training/allreduce_optimizer.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"

namespace rill {
namespace {

using grad::IsResourceVariable;
using grad::IsVariableNode;
using grad::VariableDtype;

// The declared shape of a variable node; unknown when it has none.
PartialTensorShape ShapeOf(const Output& var) {
  PartialTensorShape shape;
  (void)GetAttr(var.node()->attrs(), "shape", &shape);
  return shape;
}

std::vector<int64_t> Dims(const PartialTensorShape& shape) {
  return {shape.dim_sizes().begin(), shape.dim_sizes().end()};
}

}  // namespace

AllReduceOptimizer::AllReduceOptimizer(std::unique_ptr<Optimizer> inner,
                                       AllReduceOptions options)
    : inner_(std::move(inner)),
      options_(std::move(options)),
      next_instance_key_(options_.first_instance_key) {}

Output AllReduceOptimizer::Collective(const Scope& scope, const Output& input) {
  const int32_t key = next_instance_key_++;
  return ops::CollectiveReduceV2(
      scope, input, static_cast<int32_t>(options_.group_size),
      static_cast<int32_t>(options_.group_key), key,
      InputList(std::vector<Output>{}), "Add", "Div",
      ops::CollectiveReduceV2::CommunicationHint(options_.communication_hint)
          .TimeoutSeconds(options_.timeout_seconds));
}

absl::Status AllReduceOptimizer::ReduceBucket(
    const Scope& scope, const std::vector<GradAndVar>& bucket,
    std::vector<GradAndVar>* out) {
  if (bucket.size() == 1) {
    out->emplace_back(Collective(scope, bucket[0].first), bucket[0].second);
    return scope.status();
  }
  // Flatten, concatenate, reduce once, split, and give back the shapes.
  std::vector<Output> flat;
  std::vector<int64_t> sizes;
  for (const auto& [grad, var] : bucket) {
    flat.push_back(ops::Reshape(scope, grad, {-1}));
    sizes.push_back(ShapeOf(var).num_elements());
  }
  Output fused = ops::ConcatV2(scope, InputList(flat), 0);
  Output sum = Collective(scope, fused);
  auto parts = ops::SplitV(scope, sum, Tensor::FromVector<int64_t>(sizes), 0,
                           static_cast<int64_t>(sizes.size()));
  RETURN_IF_ERROR(scope.status());
  for (size_t i = 0; i < bucket.size(); ++i) {
    const Output& var = bucket[i].second;
    out->emplace_back(
        ops::Reshape(scope, parts.output[i],
                     Tensor::FromVector<int64_t>(Dims(ShapeOf(var)))),
        var);
  }
  return scope.status();
}

absl::StatusOr<std::vector<AllReduceOptimizer::GradAndVar>>
AllReduceOptimizer::ComputeGradients(const Scope& scope, const Output& loss,
                                     const std::vector<Output>& var_list) {
  if (options_.group_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("AllReduceOptimizer needs a group_size of at least 1, "
                     "got ",
                     options_.group_size));
  }
  ASSIGN_OR_RETURN(std::vector<GradAndVar> grads,
                   inner_->ComputeGradients(scope, loss, var_list));
  if (options_.group_size == 1) return grads;
  return Average(scope.NewSubScope("allreduce"), grads);
}

absl::StatusOr<std::vector<AllReduceOptimizer::GradAndVar>>
AllReduceOptimizer::Average(const Scope& at,
                            const std::vector<GradAndVar>& grads) {
  // Buckets in the reverse of the variables' order; a value whose size is
  // unknown, or of another dtype, starts a new bucket.
  std::vector<GradAndVar> reduced;
  std::vector<GradAndVar> bucket;
  int64_t bytes = 0;
  auto flush = [&]() -> absl::Status {
    if (bucket.empty()) return absl::OkStatus();
    bucket_bytes_.push_back(bytes);
    RETURN_IF_ERROR(ReduceBucket(at, bucket, &reduced));
    bucket.clear();
    bytes = 0;
    return absl::OkStatus();
  };
  for (auto it = grads.rbegin(); it != grads.rend(); ++it) {
    const PartialTensorShape shape = ShapeOf(it->second);
    const DataType dtype = BaseType(it->first.type());
    const int64_t size =
        shape.IsFullyDefined()
            ? shape.num_elements() * static_cast<int64_t>(DataTypeSize(dtype))
            : -1;
    const bool fits = size >= 0 && !bucket.empty() &&
                      BaseType(bucket.front().first.type()) == dtype &&
                      ShapeOf(bucket.back().second).IsFullyDefined() &&
                      bytes + size <= options_.fusion_bytes;
    if (!fits) RETURN_IF_ERROR(flush());
    bucket.push_back(*it);
    bytes += std::max<int64_t>(size, 0);
  }
  RETURN_IF_ERROR(flush());
  // Back in the variables' order.
  std::reverse(reduced.begin(), reduced.end());
  return reduced;
}

absl::StatusOr<Operation> AllReduceOptimizer::Minimize(
    const Scope& scope, const Output& loss, const MinimizeOptions& options) {
  ASSIGN_OR_RETURN(std::vector<GradAndVar> grads,
                   ComputeGradients(scope, loss, options.var_list));
  return ApplyGradients(scope, grads, options);
}

absl::StatusOr<Operation> AllReduceOptimizer::AverageVariables(
    const Scope& scope, const std::vector<Output>& vars) {
  if (options_.group_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("AverageVariables needs a group_size of at least 1, got ",
                     options_.group_size));
  }
  Scope at = scope.NewSubScope("average");
  std::vector<GradAndVar> values;
  for (const Output& var : vars) {
    if (var.node() == nullptr || !IsVariableNode(var.node())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AverageVariables: '", var.node() ? var.node()->name() : "(null)",
          "' is not a variable"));
    }
    values.emplace_back(
        IsResourceVariable(var)
            ? Output(ops::ReadVariableOp(at, var, VariableDtype(var)))
            : Output(ops::Identity(at, var)),
        var);
  }
  std::vector<GradAndVar> means = values;
  if (options_.group_size > 1) {
    const size_t buckets = bucket_bytes_.size();
    ASSIGN_OR_RETURN(means, Average(at, values));
    // Not gradient buckets: bucket_bytes() reports the per-step reduces.
    averaged_bytes_ = 0;
    for (size_t i = buckets; i < bucket_bytes_.size(); ++i) {
      averaged_bytes_ += bucket_bytes_[i];
    }
    bucket_bytes_.resize(buckets);
  }
  std::vector<Operation> assigns;
  for (const auto& [mean, var] : means) {
    assigns.push_back(IsResourceVariable(var)
                          ? ops::AssignVariableOp(at, var, mean)
                          : ops::Assign(at, var, mean).operation);
  }
  return ops::NoOp(at.WithControlDependencies(assigns)).operation;
}

absl::StatusOr<Operation> AllReduceOptimizer::BroadcastVariables(
    const Scope& scope, const std::vector<Output>& vars, int rank,
    int root_rank) {
  if (options_.group_size < 1 || rank < 0 || rank >= options_.group_size ||
      root_rank < 0 || root_rank >= options_.group_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BroadcastVariables: rank ", rank, " and root rank ", root_rank,
        " must lie in [0, group_size ", options_.group_size, ")"));
  }
  Scope at = scope.NewSubScope("broadcast");
  std::vector<Operation> done;
  for (const Output& var : vars) {
    if (var.node() == nullptr || !IsVariableNode(var.node())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BroadcastVariables: '", var.node() ? var.node()->name() : "(null)",
          "' is not a variable"));
    }
    const PartialTensorShape shape = ShapeOf(var);
    const DataType dtype = VariableDtype(var);
    if (!shape.IsFullyDefined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BroadcastVariables: variable '", var.node()->name(),
          "' needs a fully defined shape, got ", shape.DebugString()));
    }
    if (options_.group_size == 1) continue;
    const int32_t key = next_instance_key_++;
    const int32_t size = options_.group_size, group = options_.group_key;
    Scope with = at.ColocateWith(var);
    if (rank == root_rank) {
      Output value = IsResourceVariable(var)
                         ? Output(ops::ReadVariableOp(with, var, dtype))
                         : var;
      done.push_back(
          ops::CollectiveBcastSendV2(with, value, size, group, key,
                                     ops::CollectiveBcastSendV2::TimeoutSeconds(
                                         options_.timeout_seconds))
              .operation);
    } else {
      Output value = ops::CollectiveBcastRecvV2(
          with, size, group, key, Tensor::FromVector<int64_t>(Dims(shape)),
          dtype,
          ops::CollectiveBcastRecvV2::TimeoutSeconds(options_.timeout_seconds));
      done.push_back(IsResourceVariable(var)
                         ? ops::AssignVariableOp(with, var, value).operation
                         : ops::Assign(with, var, value).operation);
    }
  }
  auto all = ops::NoOp(at.WithOpName("done").WithControlDependencies(done));
  RETURN_IF_ERROR(scope.status());
  return all.operation;
}

std::vector<Output> VariablesUnder(const Graph& graph,
                                   const std::string& prefix) {
  const std::string under = prefix.empty() ? "" : absl::StrCat(prefix, "/");
  std::vector<Output> vars;
  for (Node* n : graph.nodes()) {
    if (IsVariableNode(n) && absl::StartsWith(n->name(), under)) {
      vars.emplace_back(n, 0);
    }
  }
  return vars;
}

}  // namespace rill
