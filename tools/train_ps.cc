// rill train's parameter-server schemes (SPEC 7): sync-ps, async-ps
// (DistBelief's Downpour SGD) and ssp (stale-synchronous parallel).
//
// One graph and one session on the cluster's master, as for allreduce:
//  - the shared parameters: one variable per model variable, "ps/<name>",
//    on a ps task, the largest first onto the least loaded task (bytes);
//    a variable larger than a ps task's fair share is partitioned by rows
//    over every ps task ("ps/<name>/part_k"): each worker sends each part
//    only its rows of the gradient, and a fetch concatenates the parts;
//  - per worker task t, a replica "replica_<t>/..." pinned to the task,
//    with its own copy of the parameters (the model's variables) and its
//    shard of the data: `fetch` copies the shared parameters into the
//    replica's (ps -> worker), and the replica computes its gradients
//    against its copy;
//  - "rill_eval/...": the model reading the shared parameters themselves,
//    on the master's task, for the progress lines' metrics and the final
//    figures.
//
// sync-ps: a step fetches every replica's copy, then averages their
//   gradients on the ps and applies them there with the optimizer (its
//   slots beside the parameters). With --replicas-to-aggregate N below the
//   number of workers (backup workers), each worker runs its step on a
//   thread of the driver and leaves its gradients in slots of its own on
//   the ps; the first N of a step are averaged (a mask fed to the update),
//   the rest are dropped as stale, as SyncReplicasOptimizer does.
// async-ps: each worker loops on a thread of its own: every --n-fetch steps
//   it fetches, each step adds its gradients to accumulators on its task,
//   and every --n-push steps it pushes them: the optimizer on the ps applies
//   the accumulated gradients (one optimizer state, shared by every
//   worker's pushes, as DistBelief's Adagrad is) and the accumulators are
//   cleared. Workers never wait for each other.
// ssp: async-ps with a fetch and a push every step, and no worker more than
//   --staleness steps ahead of the slowest live one (Ho et al. 2013).
//
// A worker that dies: async-ps and ssp go on with the others, sync-ps with
// backup workers as long as N are left; otherwise the step's error ends
// the run. A ps task that dies ends the step with its error; with
// --checkpoint-dir the run waits for the task to come back (restarts it,
// under --local-cluster), restores the newest checkpoint and goes on from
// the epoch after it.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/cc/import_graph.h"
#include "core/cc/ops.h"
#include "core/framework/attr_value.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_session.h"
#include "runtime/training/grad_helpers.h"
#include "tools/train_common.h"

namespace rill::tools {
namespace {

using Clock = std::chrono::steady_clock;
using grad::IsResourceVariable;

constexpr char kEval[] = "rill_eval";

std::string PsDevice(int p) { return absl::StrCat("/job:ps/task:", p); }
std::string WorkerDevice(int t) { return absl::StrCat("/job:worker/task:", t); }

// A part of a shared parameter: its rows [begin, begin + rows) in a
// variable on a ps task (the whole parameter when it is not partitioned).
struct Part {
  int ps = 0;
  int64_t begin = 0, rows = 0;
  Output var;
};

// A model variable and where its shared copy lives: one variable on one ps
// task, or (a variable larger than a ps task's fair share of the bytes)
// split by rows over every ps task, as TensorFlow's fixed_size_partitioner
// splits it.
struct Parameter {
  std::string name;  // The model's variable node.
  DataType dtype = DT_INVALID;
  PartialTensorShape shape;
  int64_t bytes = 0;
  std::vector<Part> parts;
  bool partitioned() const { return parts.size() > 1; }
  PartialTensorShape PartShape(const Part& part) const {
    PartialTensorShape s = shape;
    if (partitioned()) {
      std::vector<int64_t> dims(shape.dim_sizes().begin(),
                                shape.dim_sizes().end());
      dims[0] = part.rows;
      s = *PartialTensorShape::Create(dims);
    }
    return s;
  }
  // "ROWS COLS... begin,rows:-:...": the part as a slice of the whole
  // (checkpoints); "" when not partitioned.
  std::string SliceSpec(const Part& part) const {
    if (!partitioned()) return "";
    std::vector<std::string> dims, extents;
    for (int d = 0; d < shape.dims(); ++d) {
      dims.push_back(absl::StrCat(shape.dim_size(d)));
      extents.push_back(d == 0 ? absl::StrCat(part.begin, ",", part.rows)
                               : std::string("-"));
    }
    return absl::StrCat(absl::StrJoin(dims, " "), " ",
                        absl::StrJoin(extents, ":"));
  }
};

// The rows of `x` (a value of parameter p's shape) that `part` holds,
// sliced on the scope's device; x itself when p is not partitioned.
Output RowsOf(const Scope& s, const Output& x, const Parameter& p,
              const Part& part) {
  if (!p.partitioned()) return x;
  std::vector<int64_t> begin(p.shape.dims(), 0), size(p.shape.dims(), -1);
  begin[0] = part.begin;
  size[0] = part.rows;
  return ops::Slice(s, x, ops::Const(s, Tensor::FromVector<int64_t>(begin)),
                    ops::Const(s, Tensor::FromVector<int64_t>(size)));
}

// The value of a variable (a ref as it is, a resource's read).
Output ValueOf(const Scope& s, const Output& var, DataType dtype) {
  return IsResourceVariable(var) ? Output(ops::ReadVariableOp(s, var, dtype))
                                 : var;
}

// Parameter p's whole value from its parts, on the scope's device.
Output WholeOf(const Scope& s, const Parameter& p) {
  std::vector<Output> values;
  for (const Part& part : p.parts) {
    values.push_back(ValueOf(s, part.var, p.dtype));
  }
  if (values.size() == 1) return values[0];
  return ops::ConcatV2(s, values, int32_t{0});
}

// What one worker's replica runs.
struct Replica {
  std::string prefix;
  std::string loss;
  std::string fetch;    // Shared parameters -> the replica's copy.
  std::string compute;  // async/ssp: gradients into the accumulators;
                        // sync-ps with backups: into the worker's slots.
  std::string push;     // async/ssp: compute, apply on the ps, clear.
  std::vector<std::string> loads, load_feeds;
  std::string init;  // The model's initializers in this replica.
};

// Variable `to` set to `value`.
Operation AssignTo(const Scope& scope, const Output& to, const Output& value) {
  if (IsResourceVariable(to)) {
    return ops::AssignVariableOp(scope, to, value);
  }
  return ops::Assign(scope, to, value).operation;
}

// A variable like `like` (same kind, dtype and shape) named `name`.
Output NewVariable(const Scope& scope, const std::string& name,
                   const Output& like, DataType dtype,
                   const PartialTensorShape& shape) {
  if (IsResourceVariable(like)) {
    return ops::VarHandleOp(scope.WithOpName(name), dtype, shape,
                            ops::VarHandleOp::SharedName(name));
  }
  return ops::VariableV2(scope.WithOpName(name), shape, dtype);
}

// A ref variable of `shape` on the scope's device, set to zeros by the
// returned initializer.
Output Zeros(const Scope& scope, const std::string& name, DataType dtype,
             const PartialTensorShape& shape, std::vector<Operation>* inits) {
  auto var = ops::VariableV2(scope.WithOpName(name), shape, dtype);
  inits->push_back(
      ops::Assign(scope, var, grad::Filled(scope, shape, 0, dtype)).operation);
  return var;
}

class PsTrainer {
 public:
  PsTrainer(TrainJob& job, std::ostream& out)
      : job_(job),
        f_(job.flags),
        out_(out),
        progress_(f_.json ? std::cerr : out),
        workers_(static_cast<int>(job.cluster.workers.size())) {}

  absl::Status Train();

 private:
  absl::Status Build();
  // The epochs from `first_epoch` on; the first failure ends them.
  absl::Status RunEpochs(int64_t first_epoch);
  // After a failure: the first ps task that does not answer, or -1.
  int DeadPs() const;
  // Brings ps task p back, restores the newest checkpoint (or the initial
  // values) and refreshes the replicas; the epochs done.
  absl::StatusOr<int64_t> Recover(int p, const absl::Status& why);
  // The shared parameters and optimizer state from the newest checkpoint,
  // or (none) from replica 0's initial values; then every replica's copy.
  absl::StatusOr<int64_t> LoadParameters(bool from_checkpoint);
  // The step of worker t's replica in its epoch: its rows.
  std::vector<std::pair<std::string, Tensor>> RowsFeed(int t, int64_t step);
  // A worker's loop on a driver thread: async-ps and ssp; sync-ps with
  // backup workers.
  void AsyncLoop(int t);
  void BackupLoop(int t);
  // sync-ps: one step of every worker; with backups, the update of step
  // `step` from its first N workers.
  absl::Status SyncStep(int64_t step);
  absl::Status Aggregate(int64_t step);
  // Worker t's step failed: the worker died (the others go on, when the
  // scheme allows) or the run fails.
  void Lost(int t, const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_);
  // Steps done by the slowest live worker.
  int64_t SlowestLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReportEpoch(int64_t epoch, double seconds);
  void Log(const std::string& line) { progress_ << line << std::endl; }
  // Adds a step's loss to its epoch's.
  void AddLossLocked(int64_t step, double loss)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto& [sum, count] = epoch_loss_[step / steps_per_epoch_];
    sum += loss;
    ++count;
    // The event file's step counts updates of the parameters, as
    // TensorFlow's global step: a sync step is one, an asynchronous one
    // each worker's.
    ++updates_;
    if (job_.events != nullptr) {
      (void)job_.events->Scalar("loss", updates_, loss);
    }
  }
  // Examples in a step: every worker's rows in a sync step, a worker's own
  // in an asynchronous one.
  int64_t RowsPerStep() const {
    return f_.scheme == "sync-ps" ? f_.batch : per_;
  }
  int64_t Epochs() const {
    return (total_ + steps_per_epoch_ - 1) / steps_per_epoch_;
  }
  bool Backups() const {
    return f_.scheme == "sync-ps" && f_.replicas_to_aggregate > 0 &&
           f_.replicas_to_aggregate < workers_;
  }

  TrainJob& job_;
  const TrainFlags& f_;
  std::ostream& out_;
  std::ostream& progress_;
  const int workers_;
  std::vector<Parameter> params_;
  // Replica 0's copies of the parameters (for the kind of each variable).
  std::vector<Output> first_local_;
  // Copies partitioned parameters whole for evaluation.
  std::string eval_fetch_;
  std::vector<Replica> replicas_;
  std::string ps_init_, apply_;
  // The optimizer's slots, the accumulators and the backup workers' slots.
  std::vector<Operation> state_inits_;
  std::string init_state_;
  std::unique_ptr<SessionInterface> session_;
  std::unique_ptr<TrainCheckpoints> checkpoints_;
  int64_t first_step_ = 0;  // Where the current run of epochs began.
  int64_t param_bytes_ = 0;
  int64_t steps_per_epoch_ = 1, total_ = 0, per_ = 0;
  // The shards' row orders, per worker, of the epoch orders_epoch_[t].
  std::vector<std::vector<int64_t>> orders_;
  std::vector<int64_t> orders_epoch_;

  absl::Mutex mu_;
  std::vector<int64_t> done_ ABSL_GUARDED_BY(mu_);  // Steps each worker ran.
  std::vector<bool> alive_ ABSL_GUARDED_BY(mu_);
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  // Per epoch: loss sum and count of the steps run in it.
  std::map<int64_t, std::pair<double, int64_t>> epoch_loss_
      ABSL_GUARDED_BY(mu_);
  int64_t bytes_sent_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t updates_ ABSL_GUARDED_BY(mu_) = 0;
  // sync-ps with backups: the step being aggregated, who arrived in it.
  int64_t sync_step_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> arrived_ ABSL_GUARDED_BY(mu_);
  std::vector<double> arrived_loss_ ABSL_GUARDED_BY(mu_);
};

absl::Status PsTrainer::Build() {
  const Cluster& cluster = job_.cluster;
  const int ps_tasks = static_cast<int>(cluster.ps.size());
  Scope root = Scope::NewRootScope();
  const std::vector<std::string> model_inits =
      InitializersOf(*job_.model, job_.loss_node);
  std::unique_ptr<Optimizer> opt = MakeOptimizer(f_);
  // Every worker's gradients, per parameter (sync-ps).
  std::vector<std::vector<Output>> grads;
  for (int t = 0; t < workers_; ++t) {
    Replica r;
    r.prefix = ReplicaPrefix(t);
    Scope s = root.NewSubScope(r.prefix).WithDevice(WorkerDevice(t));
    ReplicaInputs in = AddReplicaInputs(s, job_.data);
    r.loads = in.loads;
    r.load_feeds = in.load_feeds;
    ASSIGN_OR_RETURN(ImportedNodes nodes,
                     ImportIntoScope(s, job_.model_def, in.input_map));
    const Output loss(nodes.at(job_.loss_node), job_.loss_index);
    r.loss = absl::StrCat(loss.node()->name(), ":", job_.loss_index);
    std::vector<Output> local;
    for (const Output& v : VariablesOf(loss)) {
      if (!IsShardVariable(v, r.prefix)) local.push_back(v);
    }
    if (t == 0) {
      first_local_ = local;
      // The shared parameters, spread over the ps tasks by bytes.
      for (const Output& v : local) {
        Parameter p;
        p.name = v.node()->name().substr(r.prefix.size() + 1);
        p.dtype = grad::VariableDtype(v);
        RETURN_IF_ERROR(GetAttr(v.node()->attrs(), "shape", &p.shape));
        if (!p.shape.IsFullyDefined()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "variable '", p.name, "' has shape ", p.shape.DebugString(),
              "; parameter servers need fully defined shapes"));
        }
        p.bytes = p.shape.num_elements() * DataTypeSize(p.dtype);
        params_.push_back(p);
      }
      for (const Parameter& p : params_) param_bytes_ += p.bytes;
      std::vector<int64_t> load(ps_tasks, 0);
      // A variable above a ps task's fair share is split by rows over
      // every ps task (the first rows % P parts a row longer).
      for (Parameter& p : params_) {
        const int64_t rows = p.shape.dims() > 0 ? p.shape.dim_size(0) : 0;
        if (ps_tasks < 2 || rows < ps_tasks ||
            p.bytes * ps_tasks <= param_bytes_) {
          continue;
        }
        int64_t begin = 0;
        for (int k = 0; k < ps_tasks; ++k) {
          const int64_t n = rows / ps_tasks + (k < rows % ps_tasks ? 1 : 0);
          p.parts.push_back({.ps = k, .begin = begin, .rows = n});
          load[k] += p.bytes / rows * n;
          begin += n;
        }
      }
      // The others whole, the largest first onto the least loaded task.
      std::vector<int> order(params_.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return params_[a].bytes > params_[b].bytes;
      });
      for (int i : order) {
        Parameter& p = params_[i];
        if (!p.parts.empty()) continue;
        const int task = static_cast<int>(
            std::min_element(load.begin(), load.end()) - load.begin());
        p.parts.push_back(
            {.ps = task,
             .begin = 0,
             .rows = p.shape.dims() > 0 ? p.shape.dim_size(0) : 0});
        load[task] += p.bytes;
      }
      std::vector<Operation> copies;
      for (size_t i = 0; i < params_.size(); ++i) {
        Parameter& p = params_[i];
        for (size_t k = 0; k < p.parts.size(); ++k) {
          Part& part = p.parts[k];
          Scope at = root.NewSubScope("ps").WithDevice(PsDevice(part.ps));
          part.var = NewVariable(
              at, p.partitioned() ? absl::StrCat(p.name, "/part_", k) : p.name,
              local[i], p.dtype, p.PartShape(part));
          copies.push_back(
              AssignTo(at, part.var,
                       RowsOf(at, ValueOf(at, local[i], p.dtype), p, part)));
        }
      }
      ps_init_ =
          ops::NoOp(
              root.WithOpName("rill_ps_init").WithControlDependencies(copies))
              .operation.name();
      grads.resize(params_.size());
    }
    if (local.size() != params_.size()) {
      return absl::InternalError("replicas differ in their variables");
    }
    std::vector<Operation> inits;
    for (const std::string& name : model_inits) {
      inits.emplace_back(nodes.at(name));
    }
    r.init = ops::NoOp(s.WithOpName("rill_init").WithControlDependencies(inits))
                 .operation.name();
    std::vector<Operation> copies;
    for (size_t i = 0; i < params_.size(); ++i) {
      copies.push_back(AssignTo(s, local[i], WholeOf(s, params_[i])));
    }
    r.fetch =
        ops::NoOp(s.WithOpName("rill_fetch").WithControlDependencies(copies))
            .operation.name();
    ASSIGN_OR_RETURN(std::vector<Optimizer::GradAndVar> gv,
                     opt->ComputeGradients(s, loss, local));
    // The gradient of each parameter (none for one the loss ignores).
    std::vector<Output> g(params_.size());
    for (const auto& [grad, var] : gv) {
      const auto it =
          std::find_if(local.begin(), local.end(),
                       [&](const Output& v) { return v.node() == var.node(); });
      g[it - local.begin()] = grad;
    }
    if (f_.scheme == "sync-ps" && !Backups()) {
      // Each part's rows, sliced on the worker.
      for (size_t i = 0; i < params_.size(); ++i) {
        for (const Part& part : params_[i].parts) {
          grads[i].push_back(g[i].node() == nullptr
                                 ? g[i]
                                 : RowsOf(s, g[i], params_[i], part));
        }
      }
    } else if (f_.scheme == "sync-ps") {
      // This worker's slots on the ps, read by the update under the mask.
      std::vector<Operation> stash;
      for (size_t i = 0; i < params_.size(); ++i) {
        if (g[i].node() == nullptr) continue;
        const Parameter& p = params_[i];
        for (size_t k = 0; k < p.parts.size(); ++k) {
          const Part& part = p.parts[k];
          Scope at = root.NewSubScope(absl::StrCat("ps/", r.prefix))
                         .WithDevice(PsDevice(part.ps));
          Output slot = Zeros(at, absl::StrCat(p.name, "/part_", k), p.dtype,
                              p.PartShape(part), &state_inits_);
          // The part's rows leave the worker, not the whole gradient.
          stash.push_back(
              ops::Assign(at, slot, RowsOf(s, g[i], p, part)).operation);
          grads[i].push_back(slot);
        }
      }
      r.compute =
          ops::NoOp(s.WithOpName("rill_stash").WithControlDependencies(stash))
              .operation.name();
    } else {
      // Accumulators on the worker, pushed to the ps and cleared.
      std::vector<Operation> adds;
      std::vector<Optimizer::GradAndVar> pushed;
      std::vector<Output> accs;
      std::vector<size_t> pushed_params;
      Scope acc_scope = s.NewSubScope("rill_acc");
      for (size_t i = 0; i < params_.size(); ++i) {
        if (g[i].node() == nullptr) continue;
        Output acc = Zeros(acc_scope, params_[i].name, params_[i].dtype,
                           params_[i].shape, &state_inits_);
        adds.push_back(ops::AssignAdd(acc_scope, acc, g[i]).operation);
        accs.push_back(acc);
        pushed_params.push_back(i);
      }
      auto compute =
          ops::NoOp(s.WithOpName("rill_compute").WithControlDependencies(adds));
      r.compute = compute.operation.name();
      // A partitioned parameter's parts read their rows of the accumulator
      // once this step's gradients are in it.
      Scope after = acc_scope.WithControlDependencies({compute.operation});
      for (size_t j = 0; j < accs.size(); ++j) {
        const Parameter& p = params_[pushed_params[j]];
        for (const Part& part : p.parts) {
          pushed.emplace_back(RowsOf(after, accs[j], p, part), part.var);
        }
      }
      ASSIGN_OR_RETURN(
          Operation applied,
          opt->ApplyGradients(root.NewSubScope(absl::StrCat("ps/push_", t))
                                  .WithControlDependencies({compute.operation}),
                              pushed));
      std::vector<Operation> clears;
      Scope clear = acc_scope.WithControlDependencies({applied});
      for (const Output& acc : accs) {
        clears.push_back(
            ops::Assign(clear, acc, ops::ZerosLike(clear, acc)).operation);
      }
      r.push =
          ops::NoOp(s.WithOpName("rill_push").WithControlDependencies(clears))
              .operation.name();
    }
    replicas_.push_back(std::move(r));
  }
  if (f_.scheme == "sync-ps") {
    // The average of the workers' gradients (of the first N, under the
    // mask, with backups), beside each parameter, then the update there.
    std::vector<Optimizer::GradAndVar> averaged;
    Output mask;
    if (Backups()) {
      mask = ops::Placeholder(root.WithOpName("rill_mask"), DT_FLOAT);
    }
    for (size_t i = 0; i < params_.size(); ++i) {
      if (grads[i].empty() || grads[i][0].node() == nullptr) continue;
      // grads[i] holds, worker by worker, each part's term.
      const Parameter& p = params_[i];
      const size_t n = p.parts.size();
      for (size_t k = 0; k < n; ++k) {
        Scope at =
            root.NewSubScope("ps/average").WithDevice(PsDevice(p.parts[k].ps));
        std::vector<Output> terms;
        for (int t = 0; t < workers_; ++t) terms.push_back(grads[i][t * n + k]);
        Output sum;
        if (Backups()) {
          for (int t = 0; t < workers_; ++t) {
            Output weight =
                ops::Cast(at, ops::GatherV2(at, mask, t, int32_t{0}), p.dtype);
            terms[t] = ops::Mul(at, weight, terms[t]);
          }
          sum = ops::AddN(at, terms);
        } else {
          sum = terms.size() == 1 ? terms[0] : Output(ops::AddN(at, terms));
          sum = ops::Div(
              at, sum,
              grad::Scalar(at, static_cast<double>(terms.size()), p.dtype));
        }
        averaged.emplace_back(sum, p.parts[k].var);
      }
    }
    ASSIGN_OR_RETURN(Operation apply,
                     opt->ApplyGradients(root.NewSubScope("ps"), averaged,
                                         {.name = "rill_apply"}));
    apply_ = apply.name();
  }
  for (const Operation& op : opt->initializers()) {
    state_inits_.push_back(op);
  }
  init_state_ = ops::NoOp(root.WithOpName("rill_init_state")
                              .WithControlDependencies(state_inits_))
                    .operation.name();
  // The model over the shared parameters, for evaluation.
  {
    // On the master's task: it lives as long as the run does.
    Scope e = root.NewSubScope(kEval).WithDevice(job_.cluster.master_task);
    absl::flat_hash_map<std::string, Output> input_map;
    for (size_t c = 0; c < job_.data.names.size(); ++c) {
      input_map[job_.data.names[c]] =
          ops::Placeholder(e.WithOpName("rill_input/" + job_.data.names[c]),
                           job_.data.columns[c].dtype());
    }
    // A partitioned parameter is read through a whole copy here, set from
    // its parts before each evaluation (rill_eval_fetch).
    // (Beside the imported model's scope, whose names it must not take.)
    Scope w = root.NewSubScope("rill_eval_whole")
                  .WithDevice(job_.cluster.master_task);
    std::vector<Operation> eval_copies;
    for (size_t i = 0; i < params_.size(); ++i) {
      const Parameter& p = params_[i];
      if (!p.partitioned()) {
        input_map[p.name] = p.parts[0].var;
        continue;
      }
      Output whole = NewVariable(w, p.name, first_local_[i], p.dtype, p.shape);
      eval_copies.push_back(AssignTo(w, whole, WholeOf(w, p)));
      input_map[p.name] = whole;
    }
    eval_fetch_ = ops::NoOp(w.WithOpName("rill_eval_fetch")
                                .WithControlDependencies(eval_copies))
                      .operation.name();
    RETURN_IF_ERROR(ImportIntoScope(e, job_.model_def, input_map).status());
  }
  // The checkpoints: what lives on the ps tasks (parameters, optimizer
  // state; not the backup workers' stashes) under the model's names (the
  // "ps" or "ps_N" scope dropped: "ps_1/hidden/b/m" is saved as
  // "hidden/b/m").
  std::vector<Output> saved;
  std::vector<std::string> names, slices;
  // A partitioned parameter's parts: slices of the model's variable, as
  // TensorFlow saves a partitioned variable.
  absl::flat_hash_map<const Node*, std::pair<std::string, std::string>> part_of;
  for (const Parameter& p : params_) {
    for (const Part& part : p.parts) {
      part_of[part.var.node()] = {p.name, p.SliceSpec(part)};
    }
  }
  for (Node* n : root.graph()->nodes()) {
    const std::string scope = n->name().substr(0, n->name().find('/'));
    const bool on_ps = scope == "ps" ||
                       (absl::StartsWith(scope, "ps_") &&
                        std::all_of(scope.begin() + 3, scope.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        }));
    if ((n->op() != "VariableV2" && n->op() != "VarHandleOp") || !on_ps ||
        scope.size() == n->name().size() ||
        absl::StrContains(n->name(), "replica_")) {
      continue;
    }
    saved.emplace_back(n, 0);
    auto part = part_of.find(n);
    if (part != part_of.end()) {
      names.push_back(part->second.first);
      slices.push_back(part->second.second);
    } else {
      names.push_back(n->name().substr(n->name().find('/') + 1));
      slices.push_back("");
    }
  }
  ASSIGN_OR_RETURN(checkpoints_,
                   TrainCheckpoints::Create(root, f_, saved, names,
                                            job_.cluster.master_task, slices));
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));
  ASSIGN_OR_RETURN(session_,
                   GrpcSession::Create(job_.cluster.master, std::move(def)));
  return absl::OkStatus();
}

std::vector<std::pair<std::string, Tensor>> PsTrainer::RowsFeed(int t,
                                                                int64_t step) {
  const int64_t epoch = step / steps_per_epoch_;
  if (orders_epoch_[t] != epoch) {
    const auto [lo, hi] = ShardRows(job_.data.rows, t, workers_);
    orders_[t] = ShardOrder(hi - lo, f_.seed, epoch, t);
    orders_epoch_[t] = epoch;
  }
  return {{replicas_[t].prefix + "/rill_rows",
           BatchRows(orders_[t], step % steps_per_epoch_, per_)}};
}

void PsTrainer::Lost(int t, const absl::Status& why) {
  const bool listening = !Gone(job_.cluster.workers[t], kGoneWithinMs);
  absl::MutexLock lock(&mu_);
  alive_[t] = false;
  if (listening || (f_.scheme == "sync-ps" && !Backups())) {
    // Not a lost worker: the run fails.
    if (failed_.ok()) failed_ = why;
    return;
  }
  int left = static_cast<int>(std::count(alive_.begin(), alive_.end(), true));
  if (left == 0 ||
      (Backups() && left < static_cast<int>(f_.replicas_to_aggregate))) {
    if (failed_.ok()) {
      failed_ = absl::Status(
          why.code(),
          absl::StrCat("too few workers left (", left, "): ", why.message()));
    }
    return;
  }
  progress_ << "lost worker " << t << " (" << why.message()
            << "); continuing with " << left << " workers" << std::endl;
}

int64_t PsTrainer::SlowestLocked() const {
  int64_t slowest = total_;
  for (int t = 0; t < workers_; ++t) {
    if (alive_[t]) slowest = std::min(slowest, done_[t]);
  }
  return slowest;
}

void PsTrainer::AsyncLoop(int t) {
  const Replica& r = replicas_[t];
  const bool ssp = f_.scheme == "ssp";
  const int64_t n_fetch = ssp ? 1 : f_.n_fetch;
  const int64_t n_push = ssp ? 1 : f_.n_push;
  for (int64_t step = first_step_; step < total_; ++step) {
    {
      absl::MutexLock lock(&mu_);
      // ssp: no more than `staleness` steps ahead of the slowest.
      auto may_go = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !failed_.ok() || !ssp || step <= SlowestLocked() + f_.staleness;
      };
      mu_.Await(absl::Condition(&may_go));
      if (!failed_.ok()) return;
    }
    const bool fetch = step % n_fetch == 0;
    const bool push = (step + 1) % n_push == 0 || step + 1 == total_;
    absl::StatusOr<std::vector<Tensor>> loss =
        fetch ? session_->Run({}, {}, {r.fetch})
              : absl::StatusOr<std::vector<Tensor>>(std::vector<Tensor>());
    if (loss.ok()) {
      loss = session_->Run(RowsFeed(t, step), {r.loss},
                           {push ? r.push : r.compute});
    }
    if (!loss.ok()) {
      Lost(t, loss.status());
      return;
    }
    absl::MutexLock lock(&mu_);
    bytes_sent_ += (fetch + push) * param_bytes_;
    done_[t] = step + 1;
    AddLossLocked(step, ScalarValue((*loss)[0]));
  }
}

void PsTrainer::BackupLoop(int t) {
  const Replica& r = replicas_[t];
  while (true) {
    int64_t step;
    {
      absl::MutexLock lock(&mu_);
      if (!failed_.ok() || sync_step_ >= total_) return;
      step = sync_step_;
    }
    absl::StatusOr<std::vector<Tensor>> loss = session_->Run({}, {}, {r.fetch});
    if (loss.ok()) {
      loss = session_->Run(RowsFeed(t, step), {r.loss}, {r.compute});
    }
    if (!loss.ok()) {
      Lost(t, loss.status());
      return;
    }
    absl::MutexLock lock(&mu_);
    bytes_sent_ += 2 * param_bytes_;
    // Among the first N of its step, or stale and dropped.
    if (step == sync_step_ &&
        static_cast<int64_t>(arrived_.size()) < f_.replicas_to_aggregate) {
      arrived_.push_back(t);
      arrived_loss_.push_back(ScalarValue((*loss)[0]));
    }
    // The next step starts from the parameters its update leaves.
    auto updated = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return !failed_.ok() || sync_step_ > step;
    };
    mu_.Await(absl::Condition(&updated));
  }
}

absl::Status PsTrainer::Aggregate(int64_t step) {
  std::vector<float> mask(workers_, 0.0f);
  double loss = 0;
  {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return !failed_.ok() ||
             static_cast<int64_t>(arrived_.size()) >= f_.replicas_to_aggregate;
    };
    mu_.Await(absl::Condition(&enough));
    RETURN_IF_ERROR(failed_);
    for (size_t i = 0; i < arrived_.size(); ++i) {
      mask[arrived_[i]] = 1.0f / static_cast<float>(arrived_.size());
      loss += arrived_loss_[i] / static_cast<double>(arrived_.size());
    }
  }
  absl::Status s =
      session_
          ->Run({{"rill_mask", Tensor::FromVector<float>(mask)}}, {}, {apply_})
          .status();
  absl::MutexLock lock(&mu_);
  if (!s.ok()) {
    if (failed_.ok()) failed_ = s;
    return s;
  }
  AddLossLocked(step, loss);
  std::fill(done_.begin(), done_.end(), step + 1);
  arrived_.clear();
  arrived_loss_.clear();
  sync_step_ = step + 1;
  return absl::OkStatus();
}

absl::Status PsTrainer::SyncStep(int64_t step) {
  std::vector<std::string> fetches, losses;
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (int t = 0; t < workers_; ++t) {
    fetches.push_back(replicas_[t].fetch);
    losses.push_back(replicas_[t].loss);
    for (auto& feed : RowsFeed(t, step)) feeds.push_back(std::move(feed));
  }
  RETURN_IF_ERROR(session_->Run({}, {}, fetches).status());
  ASSIGN_OR_RETURN(std::vector<Tensor> out,
                   session_->Run(feeds, losses, {apply_}));
  double loss = 0;
  for (const Tensor& l : out) loss += ScalarValue(l) / workers_;
  absl::MutexLock lock(&mu_);
  // Each worker fetched the parameters and sent its gradients.
  bytes_sent_ += 2 * workers_ * param_bytes_;
  AddLossLocked(step, loss);
  std::fill(done_.begin(), done_.end(), step + 1);
  return absl::OkStatus();
}

absl::Status PsTrainer::ReportEpoch(int64_t epoch, double seconds) {
  double loss = 0;
  int64_t count = 0;
  int left = 0;
  int64_t updates = 0;
  {
    absl::MutexLock lock(&mu_);
    updates = updates_;
    std::tie(loss, count) = epoch_loss_[epoch];
    left = static_cast<int>(std::count(alive_.begin(), alive_.end(), true));
  }
  RETURN_IF_ERROR(session_->Run({}, {}, {eval_fetch_}).status());
  ASSIGN_OR_RETURN(std::string line,
                   EpochLine(*session_, kEval, f_, job_.eval, epoch + 1,
                             std::min(total_, (epoch + 1) * steps_per_epoch_),
                             loss / std::max<int64_t>(1, count),
                             count * RowsPerStep() / std::max(seconds, 1e-9),
                             left, job_.events.get(), updates));
  Log(line);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PsTrainer::LoadParameters(bool from_checkpoint) {
  // The model's initial values (replica 0's, copied to the ps) and fresh
  // optimizer state, then what the newest checkpoint holds over them.
  // (ps_init_ and init_state_ run in one step: the optimizer's state is
  // colocated with the parameters, and a step's graph places a node
  // beside its colocation target only when both are in it.)
  RETURN_IF_ERROR(session_->Run({}, {}, {replicas_[0].init}).status());
  RETURN_IF_ERROR(session_->Run({}, {}, {ps_init_, init_state_}).status());
  int64_t epochs = 0;
  if (from_checkpoint) {
    ASSIGN_OR_RETURN(epochs, checkpoints_->RestoreNewest(*session_, progress_));
  }
  std::vector<std::string> fetches;
  {
    absl::MutexLock lock(&mu_);
    for (int t = 0; t < workers_; ++t) {
      if (alive_[t]) fetches.push_back(replicas_[t].fetch);
    }
  }
  RETURN_IF_ERROR(session_->Run({}, {}, fetches).status());
  return epochs;
}

int PsTrainer::DeadPs() const {
  const std::vector<bool> gone = GoneEach(job_.cluster.ps);
  for (size_t p = 0; p < gone.size(); ++p) {
    if (gone[p]) return static_cast<int>(p);
  }
  return -1;
}

absl::StatusOr<int64_t> PsTrainer::Recover(int p, const absl::Status& why) {
  Log(absl::StrCat("ps task ", p, " is gone (", why.message(),
                   "); waiting for it to come back"));
  if (job_.cluster.local != nullptr) {
    RETURN_IF_ERROR(job_.cluster.local->Restart("ps", p));
  } else {
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (!Listening(job_.cluster.ps[p], 500)) {
      if (Clock::now() > deadline) {
        return absl::UnavailableError(absl::StrCat(
            "ps task ", p, " at ", job_.cluster.ps[p],
            " did not come back within 120 s after: ", why.message()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  // The master finds the restarted task on the next step (a new
  // incarnation), after which it serves again; until the channels to it
  // reconnect (gRPC backs off after the failed attempts), steps may still
  // find it unavailable: retried for up to 30 s.
  absl::StatusOr<int64_t> epochs;
  const auto until = Clock::now() + std::chrono::seconds(30);
  while (true) {
    epochs = LoadParameters(true);
    if (epochs.ok() ||
        !(absl::IsUnavailable(epochs.status()) ||
          absl::IsAborted(epochs.status()) ||
          absl::IsNotFound(epochs.status())) ||
        Clock::now() > until) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  RETURN_IF_ERROR(epochs.status());
  Log(absl::StrCat("ps task ", p, " is back; continuing after epoch ",
                   *epochs));
  return *epochs;
}

absl::Status PsTrainer::RunEpochs(int64_t first_epoch) {
  first_step_ = std::min(total_, first_epoch * steps_per_epoch_);
  {
    absl::MutexLock lock(&mu_);
    failed_ = absl::OkStatus();
    std::fill(done_.begin(), done_.end(), first_step_);
    sync_step_ = first_step_;
    updates_ = first_step_ * (f_.scheme == "sync-ps" ? 1 : workers_);
    arrived_.clear();
    arrived_loss_.clear();
    epoch_loss_.erase(epoch_loss_.lower_bound(first_epoch), epoch_loss_.end());
  }
  const int64_t epochs = Epochs();
  std::vector<std::thread> threads;
  const bool sync = f_.scheme == "sync-ps" && !Backups();
  if (!sync) {
    for (int t = 0; t < workers_; ++t) {
      {
        absl::MutexLock lock(&mu_);
        if (!alive_[t]) continue;
      }
      threads.emplace_back([this, t] {
        if (Backups()) {
          BackupLoop(t);
        } else {
          AsyncLoop(t);
        }
      });
    }
  }
  absl::Status status;
  int64_t step = first_step_;
  auto epoch_start = Clock::now();
  for (int64_t epoch = first_epoch; epoch < epochs && status.ok(); ++epoch) {
    const int64_t end = std::min(total_, (epoch + 1) * steps_per_epoch_);
    if (sync || Backups()) {
      for (; step < end && status.ok(); ++step) {
        status = sync ? SyncStep(step) : Aggregate(step);
      }
    } else {
      absl::MutexLock lock(&mu_);
      auto reached = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !failed_.ok() || SlowestLocked() >= end;
      };
      mu_.Await(absl::Condition(&reached));
      status = failed_;
    }
    if (!status.ok()) break;
    const auto now = Clock::now();
    status = ReportEpoch(
        epoch, std::chrono::duration<double>(now - epoch_start).count());
    epoch_start = now;
    if (status.ok() && checkpoints_ != nullptr) {
      absl::StatusOr<std::string> saved =
          checkpoints_->Save(*session_, epoch + 1, end);
      status = saved.status();
      if (saved.ok()) Log("checkpoint " + *saved);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (!status.ok() && failed_.ok()) failed_ = status;
  }
  for (std::thread& t : threads) t.join();
  return status;
}

absl::Status PsTrainer::Train() {
  if (f_.batch % workers_ != 0 || f_.batch < workers_) {
    return FlagError("--batch", absl::StrCat("the global batch ", f_.batch,
                                             " must be a multiple of the ",
                                             workers_, " workers"));
  }
  per_ = f_.batch / workers_;
  if (job_.data.rows / workers_ < per_) {
    return FlagError(
        "--batch",
        absl::StrCat("each of the ", workers_, " workers gets ",
                     job_.data.rows / workers_, " rows, fewer than its ", per_,
                     " rows of a batch"));
  }
  if (f_.replicas_to_aggregate > workers_) {
    return FlagError("--replicas-to-aggregate",
                     absl::StrCat(f_.replicas_to_aggregate,
                                  " is more than the ", workers_, " workers"));
  }
  steps_per_epoch_ = std::max<int64_t>(1, (job_.data.rows / workers_) / per_);
  total_ = f_.steps > 0 ? f_.steps : f_.epochs * steps_per_epoch_;
  orders_.assign(workers_, {});
  orders_epoch_.assign(workers_, -1);
  {
    absl::MutexLock lock(&mu_);
    done_.assign(workers_, 0);
    alive_.assign(workers_, true);
  }
  RETURN_IF_ERROR(Build());
  // Each worker's shard to its task.
  std::vector<std::pair<std::string, Tensor>> shards;
  std::vector<std::string> loads;
  for (int t = 0; t < workers_; ++t) {
    const auto [lo, hi] = ShardRows(job_.data.rows, t, workers_);
    for (size_t c = 0; c < job_.data.names.size(); ++c) {
      ASSIGN_OR_RETURN(Tensor shard, job_.data.columns[c].Slice(lo, hi));
      shards.emplace_back(replicas_[t].load_feeds[c], std::move(shard));
      loads.push_back(replicas_[t].loads[c]);
    }
  }
  RETURN_IF_ERROR(session_->Run(shards, {}, loads).status());
  ASSIGN_OR_RETURN(int64_t first_epoch, LoadParameters(f_.resume));

  const auto start = Clock::now();
  const int64_t epochs = Epochs();
  int recoveries = 0;
  while (true) {
    absl::Status status = RunEpochs(first_epoch);
    if (status.ok()) break;
    const int p = checkpoints_ == nullptr ? -1 : DeadPs();
    // Three times at most: a ps that keeps dying ends the run.
    if (p < 0 || ++recoveries > 3) return status;
    ASSIGN_OR_RETURN(first_epoch, Recover(p, status));
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  TrainResult result;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [epoch, sum_count] : epoch_loss_) {
      result.examples += sum_count.second * RowsPerStep();
    }
    result.workers_at_end =
        static_cast<int>(std::count(alive_.begin(), alive_.end(), true));
    result.bytes_sent = bytes_sent_;
  }
  result.workers = workers_;
  result.steps = total_;
  result.epochs = epochs;
  result.seconds = seconds;
  RETURN_IF_ERROR(session_->Run({}, {}, {eval_fetch_}).status());
  RETURN_IF_ERROR(FinalFigures(
      *session_, kEval, f_, absl::StrCat(job_.loss_node, ":", job_.loss_index),
      job_.data, job_.eval, &result));
  (void)session_->Close();
  PrintResult(f_, result, out_);
  return absl::OkStatus();
}

}  // namespace

absl::Status TrainWithParameterServers(TrainJob& job, std::ostream& out) {
  PsTrainer trainer(job, out);
  return trainer.Train();
}

}  // namespace rill::tools
