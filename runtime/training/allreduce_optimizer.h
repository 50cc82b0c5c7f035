// Synchronous data parallelism without a parameter server (Baidu's ring
// allreduce, Horovod): every worker holds a full replica and builds the same
// graph; this wrapper averages each gradient over the workers with
// CollectiveReduceV2 before the wrapped optimizer applies it.
//
//   AllReduceOptimizer opt(AdamOptimizer(1e-3),
//                          {.group_size = 4, .fusion_bytes = 64 << 20});
//   ASSIGN_OR_RETURN(Operation train, opt.Minimize(scope, loss));
//   ASSIGN_OR_RETURN(Operation sync,
//                    opt.BroadcastVariables(scope, AllVariables(graph), rank));
//   // Once: rank 0 runs its initializers, then every rank runs `sync`.
//   // Per step: every rank runs `train` on its own shard of the batch.
//
// Tensor fusion: gradients are packed, in the reverse of the order of their
// variables (the order the backward pass makes them), into buckets of up to
// fusion_bytes, and one allreduce runs per bucket. A bucket depends only on
// its own gradients, so it is reduced as soon as they exist, while the rest
// of the backward pass goes on.
//
// Collective instance keys are taken in order, one per bucket and one per
// broadcast variable: every rank must build the same calls in the same
// order (the rule of every collective API). Not thread-safe.
#ifndef RILL_RUNTIME_TRAINING_ALLREDUCE_OPTIMIZER_H_
#define RILL_RUNTIME_TRAINING_ALLREDUCE_OPTIMIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/training/optimizer.h"

namespace rill {

struct AllReduceOptions {
  // The number of workers (ranks) taking part; at least 1. With 1, the
  // gradients are used as they are.
  int group_size = 0;
  // Buckets hold up to this many bytes of gradients; 0 reduces each
  // gradient by itself.
  int64_t fusion_bytes = 64 << 20;
  // The collective group, and the first instance key this optimizer uses.
  int group_key = 1;
  int first_instance_key = 1;
  // CollectiveReduceV2's communication_hint and timeout_seconds.
  std::string communication_hint = "auto";
  float timeout_seconds = 0;
};

class AllReduceOptimizer {
 public:
  using GradAndVar = Optimizer::GradAndVar;

  template <typename Opt,
            typename = std::enable_if_t<std::is_base_of_v<Optimizer, Opt>>>
  AllReduceOptimizer(Opt inner, AllReduceOptions options)
      : AllReduceOptimizer(std::make_unique<Opt>(std::move(inner)),
                           std::move(options)) {}
  AllReduceOptimizer(std::unique_ptr<Optimizer> inner,
                     AllReduceOptions options);

  // The wrapped optimizer's gradients, each averaged over the group.
  // INVALID_ARGUMENT for a group size below 1.
  absl::StatusOr<std::vector<GradAndVar>> ComputeGradients(
      const Scope& scope, const Output& loss,
      const std::vector<Output>& var_list = {});
  absl::StatusOr<Operation> ApplyGradients(
      const Scope& scope, const std::vector<GradAndVar>& grads_and_vars,
      const MinimizeOptions& options = {}) {
    return inner_->ApplyGradients(scope, grads_and_vars, options);
  }
  absl::StatusOr<Operation> Minimize(const Scope& scope, const Output& loss,
                                     const MinimizeOptions& options = {});

  // Model averaging (Zinkevich's parallel SGD, SparkNet): this rank's part
  // of setting each of `vars` to its mean over the group, reduced in fused
  // buckets like gradients. Every rank runs its op in the same step.
  absl::StatusOr<Operation> AverageVariables(const Scope& scope,
                                             const std::vector<Output>& vars);
  // The bytes AverageVariables reduces per rank each time it runs.
  int64_t averaged_bytes() const { return averaged_bytes_; }

  // This rank's part of copying `vars` from `root_rank` to every rank: the
  // root sends each value, the others assign what arrives. Every rank runs
  // its op in the same step. The variables need fully defined shapes.
  absl::StatusOr<Operation> BroadcastVariables(const Scope& scope,
                                               const std::vector<Output>& vars,
                                               int rank, int root_rank = 0);

  // The wrapped optimizer's slot initializers.
  const std::vector<Operation>& initializers() const {
    return inner_->initializers();
  }
  // The bytes of each bucket reduced per step, as built so far.
  const std::vector<int64_t>& bucket_bytes() const { return bucket_bytes_; }
  const AllReduceOptions& options() const { return options_; }

 private:
  // Appends the averaged gradients of one bucket (all of one dtype).
  absl::Status ReduceBucket(const Scope& scope,
                            const std::vector<GradAndVar>& bucket,
                            std::vector<GradAndVar>* out);
  Output Collective(const Scope& scope, const Output& input);
  // Each value's mean over the group, in fused buckets (bucket_bytes_
  // grows by each bucket's bytes).
  absl::StatusOr<std::vector<GradAndVar>> Average(
      const Scope& scope, const std::vector<GradAndVar>& values);

  std::unique_ptr<Optimizer> inner_;
  AllReduceOptions options_;
  int next_instance_key_;
  std::vector<int64_t> bucket_bytes_;
  int64_t averaged_bytes_ = 0;
};

// Every variable (VariableV2 and VarHandleOp node) of `graph` whose name
// starts with `prefix`, in the order they were added: the model's and the
// optimizer's (slots, Adam's beta powers), as broadcasting needs them.
std::vector<Output> VariablesUnder(const Graph& graph,
                                   const std::string& prefix = "");

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_ALLREDUCE_OPTIMIZER_H_
