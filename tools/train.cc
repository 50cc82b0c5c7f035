// rill train: trains a model GraphDef with one of the lecture's schemes
// (SPEC 7): `allreduce` here, the parameter-server schemes in train_ps.cc.
//
// For allreduce the driver builds one graph holding a replica of the model per
// worker
// ("replica_<task>/...", pinned to /job:worker/task:<task>), each with its
// gradients averaged by an AllReduceOptimizer, and runs a step of all of
// them through one session on the cluster's master: the replicas exchange
// gradients among themselves with Gloo, never through the driver. The
// driver feeds each replica its own rows of the global batch.
//
// Elastic groups: when a step fails because workers died, the survivors
// form a new group (a new collective group key, a new session; their
// variables stay where they are, on their tasks) and the step is run again;
// a worker whose address answers again joins at the next step, with every
// variable broadcast to it from the group's rank 0.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/cc/import_graph.h"
#include "core/cc/ops.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "distributed/cluster.h"
#include "distributed/grpc_session.h"
#include "runtime/session/session.h"
#include "runtime/training/allreduce_optimizer.h"
#include "tools/commands.h"
#include "tools/local_cluster.h"
#include "tools/tensor_text.h"
#include "tools/train_common.h"

namespace rill::tools {
namespace {

using Clock = std::chrono::steady_clock;

bool UsesParameterServers(const std::string& scheme) {
  return scheme != "allreduce" && scheme != "local-sgd" &&
         scheme != "average" && scheme != "model-parallel";
}

constexpr const char* kSchemes[] = {"sync-ps",       "async-ps",  "ssp",
                                    "allreduce",     "local-sgd", "average",
                                    "model-parallel"};

absl::Status ParseNamedFile(
    absl::string_view flag, const std::string& value,
    std::vector<std::pair<std::string, std::string>>* out) {
  const size_t eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
    return FlagError(flag,
                     absl::StrCat("expected NAME=FILE.npy, got '", value, "'"));
  }
  out->emplace_back(value.substr(0, eq), value.substr(eq + 1));
  return absl::OkStatus();
}

absl::StatusOr<TrainFlags> ParseFlags(const Args& args) {
  TrainFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      if (!f.model.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unexpected argument '", arg, "' (the model is '", f.model, "')"));
      }
      f.model = arg;
      continue;
    }
    std::string name = arg, value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (name == "--resume") {
      f.resume = true;
      continue;
    } else {
      if (i + 1 >= args.size()) return FlagError(name, "needs a value");
      value = args[++i];
    }
    if (name == "--loss") {
      f.loss = value;
    } else if (name == "--data") {
      RETURN_IF_ERROR(ParseNamedFile(name, value, &f.data));
    } else if (name == "--eval") {
      RETURN_IF_ERROR(ParseNamedFile(name, value, &f.eval));
    } else if (name == "--metric") {
      f.metrics.push_back(value);
    } else if (name == "--scheme") {
      f.scheme = value;
    } else if (name == "--cluster") {
      f.cluster_json = value;
    } else if (name == "--local-cluster") {
      ASSIGN_OR_RETURN(f.local_cluster, ParseLocalCluster(name, value));
    } else if (name == "--optimizer") {
      RETURN_IF_ERROR(ParseOptimizer(name, value, &f.optimizer));
    } else if (name == "--lr") {
      RETURN_IF_ERROR(ParseNumber(name, value, 0.0, &f.lr));
      if (f.lr == 0) return FlagError(name, "must be positive");
    } else if (name == "--batch") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.batch));
    } else if (name == "--epochs") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.epochs));
    } else if (name == "--steps") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.steps));
    } else if (name == "--fusion-mb") {
      RETURN_IF_ERROR(ParseNumber(name, value, 0.0, &f.fusion_mb));
    } else if (name == "--seed") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 0, &f.seed));
    } else if (name == "--format") {
      RETURN_IF_ERROR(ParseFormat(name, value, &f.json));
    } else if (name == "--n-fetch") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.n_fetch));
      f.other_scheme_flags.push_back(name);
    } else if (name == "--n-push") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.n_push));
      f.other_scheme_flags.push_back(name);
    } else if (name == "--staleness") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 0, &f.staleness));
      f.other_scheme_flags.push_back(name);
    } else if (name == "--replicas-to-aggregate") {
      RETURN_IF_ERROR(
          ParseNumber<int64_t>(name, value, 1, &f.replicas_to_aggregate));
      f.other_scheme_flags.push_back(name);
    } else if (name == "--checkpoint-dir") {
      if (value.empty()) return FlagError(name, "needs a directory");
      f.checkpoint_dir = value;
    } else if (name == "--micro-batches") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.micro_batches));
      f.other_scheme_flags.push_back(name);
    } else if (name == "--tau") {
      RETURN_IF_ERROR(ParseNumber<int64_t>(name, value, 1, &f.tau));
      f.other_scheme_flags.push_back(name);
    } else if (name == "--logdir") {
      if (value.empty()) return FlagError(name, "needs a directory");
      f.logdir = value;
    } else if (f.security.Take(name, value)) {
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", name, "'; run 'rill help'"));
    }
  }
  if (f.model.empty()) {
    return absl::InvalidArgumentError(
        "usage: rill train MODEL --loss NAME --data NAME=FILE.npy --scheme "
        "SCHEME [flags]");
  }
  if (f.loss.empty()) return FlagError("--loss", "is required");
  if (f.data.empty()) return FlagError("--data", "give at least one");
  if (f.scheme.empty()) return FlagError("--scheme", "is required");
  if (std::find(std::begin(kSchemes), std::end(kSchemes), f.scheme) ==
      std::end(kSchemes)) {
    return FlagError("--scheme",
                     absl::StrCat("unknown scheme '", f.scheme, "'; one of ",
                                  absl::StrJoin(kSchemes, ", ")));
  }
  // Each scheme's own flags; the rest do not apply to it.
  const std::map<std::string, std::string> owner = {
      {"--n-fetch", "async-ps"}, {"--n-push", "async-ps"},
      {"--staleness", "ssp"},    {"--replicas-to-aggregate", "sync-ps"},
      {"--tau", "local-sgd"},    {"--micro-batches", "model-parallel"}};
  for (const std::string& flag : f.other_scheme_flags) {
    auto it = owner.find(flag);
    if (it == owner.end()) {
      return absl::UnimplementedError(
          absl::StrCat(flag, ": not supported in this build"));
    }
    if (it->second != f.scheme) {
      return FlagError(flag, absl::StrCat("applies to --scheme ", it->second,
                                          ", not ", f.scheme));
    }
  }
  if (f.resume && f.checkpoint_dir.empty()) {
    return FlagError("--resume", "needs --checkpoint-dir");
  }
  if (!f.checkpoint_dir.empty()) {
    // Absolute: the master's task writes it, from its own directory.
    if (f.checkpoint_dir[0] != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
        return FlagError("--checkpoint-dir",
                         "the working directory is unknown");
      }
      f.checkpoint_dir = absl::StrCat(cwd, "/", f.checkpoint_dir);
    }
    while (f.checkpoint_dir.size() > 1 && f.checkpoint_dir.back() == '/') {
      f.checkpoint_dir.pop_back();
    }
    if (::mkdir(f.checkpoint_dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return FlagError("--checkpoint-dir",
                       absl::StrCat("cannot create ", f.checkpoint_dir, ": ",
                                    std::strerror(errno)));
    }
    struct stat st;
    if (::stat(f.checkpoint_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return FlagError("--checkpoint-dir",
                       absl::StrCat(f.checkpoint_dir, " is not a directory"));
    }
    // The servers of --local-cluster save and restore there.
    AddLocalServerArgs({"--file_root", f.checkpoint_dir});
  }
  if (!f.cluster_json.empty() && !f.local_cluster.empty()) {
    return absl::InvalidArgumentError(
        "give --cluster or --local-cluster, not both");
  }
  const bool uses_ps = UsesParameterServers(f.scheme);
  const int ps_tasks =
      f.local_cluster.contains("ps") ? f.local_cluster.at("ps") : 0;
  if (!uses_ps && ps_tasks > 0) {
    return FlagError(
        "--local-cluster",
        absl::StrCat("--scheme ", f.scheme, " uses no ps tasks: give ps=0"));
  }
  if (uses_ps && !f.local_cluster.empty() && ps_tasks < 1) {
    return FlagError("--local-cluster",
                     absl::StrCat("--scheme ", f.scheme,
                                  " needs parameter servers: give ps=1 or "
                                  "more"));
  }
  if (uses_ps && f.local_cluster.empty() && f.cluster_json.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--scheme ", f.scheme,
        " needs a cluster with ps tasks: give --local-cluster ps=P,worker=W "
        "or --cluster"));
  }
  if (!f.metrics.empty() && f.eval.empty()) {
    return FlagError("--metric", "needs held-out data: give --eval");
  }
  if (f.epochs == 0 && f.steps == 0) f.epochs = 1;
  return f;
}

// One group of replicas and the session that runs them.
struct Formation {
  std::vector<int> tasks;  // Worker tasks, in rank order.
  std::unique_ptr<SessionInterface> session;
  std::vector<std::string> trains, losses, syncs;
  // Per rank, per data column: the Assign that loads the shard, and the
  // placeholder it reads.
  std::vector<std::string> loads, load_feeds;
  std::string init;         // Rank 0's initializers.
  int64_t fused_bytes = 0;  // Gradient bytes reduced per step by each rank.
  // local-sgd, average: each rank's AverageVariables, and the bytes each
  // rank reduces in one.
  std::vector<std::string> averages;
  int64_t averaged_bytes = 0;
  // Rank 0's variables under the model's names (--checkpoint-dir).
  std::unique_ptr<TrainCheckpoints> checkpoints;
};

absl::StatusOr<Formation> Form(const TrainFlags& f,
                               const ::tensorflow::GraphDef& model_def,
                               const Graph& model,
                               const std::string& loss_node_name,
                               int loss_index, const Dataset& data,
                               const Cluster& cluster,
                               const std::vector<int>& tasks, int group_key) {
  Formation form;
  form.tasks = tasks;
  const int size = static_cast<int>(tasks.size());
  const std::vector<std::string> model_inits =
      InitializersOf(model, loss_node_name);
  Scope root = Scope::NewRootScope();
  // Rank 0's variables (not its shard): broadcast, and checkpointed.
  std::vector<Output> rank0_vars;
  for (int rank = 0; rank < size; ++rank) {
    const std::string prefix = ReplicaPrefix(tasks[rank]);
    Scope s = root.NewSubScope(prefix);
    if (!cluster.master.empty()) {
      s = s.WithDevice(absl::StrCat("/job:worker/task:", tasks[rank]));
    }
    // The replica's shard lives on its task (loaded once per formation; a
    // step then sends only row numbers).
    ReplicaInputs in = AddReplicaInputs(s, data);
    form.loads.insert(form.loads.end(), in.loads.begin(), in.loads.end());
    form.load_feeds.insert(form.load_feeds.end(), in.load_feeds.begin(),
                           in.load_feeds.end());
    ASSIGN_OR_RETURN(ImportedNodes nodes,
                     ImportIntoScope(s, model_def, in.input_map));
    Node* loss_node = nodes.at(loss_node_name);
    AllReduceOptimizer opt(
        MakeOptimizer(f),
        {.group_size = size,
         .fusion_bytes = static_cast<int64_t>(f.fusion_mb * (1 << 20)),
         .group_key = group_key});
    // The model's variables: not the shards (a float input is a variable
    // the loss depends on here, too).
    const Output loss(loss_node, loss_index);
    std::vector<Output> trained;
    for (const Output& v : VariablesOf(loss)) {
      if (!IsShardVariable(v, prefix)) trained.push_back(v);
    }
    // allreduce: the gradients averaged every step. Model averaging
    // (local-sgd, average): each replica steps on its own; `average` sets
    // every replica's parameters to their mean (every --tau steps, or at
    // the end).
    Operation train;
    std::vector<Operation> inits;
    if (f.scheme == "allreduce") {
      ASSIGN_OR_RETURN(
          train,
          opt.Minimize(s, loss, {.var_list = trained, .name = "rill_train"}));
      inits = opt.initializers();
    } else {
      std::unique_ptr<Optimizer> local = MakeOptimizer(f);
      ASSIGN_OR_RETURN(
          train, local->Minimize(s, loss,
                                 {.var_list = trained, .name = "rill_train"}));
      inits = local->initializers();
      ASSIGN_OR_RETURN(Operation average, opt.AverageVariables(s, trained));
      form.averages.push_back(average.name());
      if (rank == 0) form.averaged_bytes = opt.averaged_bytes();
    }
    for (const std::string& name : model_inits) {
      inits.emplace_back(nodes.at(name));
    }
    auto init =
        ops::NoOp(s.WithOpName("rill_init").WithControlDependencies(inits));
    std::vector<Output> vars;
    for (const Output& v : VariablesUnder(*root.graph(), prefix)) {
      if (!IsShardVariable(v, prefix)) vars.push_back(v);
    }
    ASSIGN_OR_RETURN(Operation sync, opt.BroadcastVariables(s, vars, rank));
    if (rank == 0) rank0_vars = vars;
    form.trains.push_back(train.name());
    form.losses.push_back(absl::StrCat(loss_node->name(), ":", loss_index));
    form.syncs.push_back(sync.name());
    if (rank == 0) {
      form.init = init.operation.name();
      for (int64_t b : opt.bucket_bytes()) form.fused_bytes += b;
    }
  }
  // Rank 0's replica (model variables and optimizer slots), saved
  // without its "replica_<task>/" scope.
  const size_t scope = ReplicaPrefix(tasks[0]).size() + 1;
  std::vector<std::string> names;
  for (const Output& v : rank0_vars) {
    names.push_back(v.node()->name().substr(scope));
  }
  ASSIGN_OR_RETURN(form.checkpoints,
                   TrainCheckpoints::Create(root, f, rank0_vars, names,
                                            cluster.master_task));
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));
  if (cluster.master.empty()) {
    ASSIGN_OR_RETURN(form.session, Session::Create(std::move(def)));
  } else {
    ASSIGN_OR_RETURN(form.session,
                     GrpcSession::Create(cluster.master, std::move(def)));
  }
  return form;
}

class Trainer {
 public:
  Trainer(TrainFlags f, ::tensorflow::GraphDef model_def,
          std::unique_ptr<Graph> model, std::string loss_node, int loss_index,
          Dataset data, Dataset eval, Cluster cluster,
          std::unique_ptr<EventsWriter> events, std::ostream& out)
      : f_(std::move(f)),
        model_def_(std::move(model_def)),
        model_(std::move(model)),
        loss_node_(std::move(loss_node)),
        loss_index_(loss_index),
        data_(std::move(data)),
        eval_(std::move(eval)),
        cluster_(std::move(cluster)),
        events_(std::move(events)),
        out_(out),
        progress_(f_.json ? std::cerr : out) {}

  absl::Status Train();

 private:
  // A new group of `tasks`; `fresh` when no variable exists yet.
  absl::Status Reform(std::vector<int> tasks, bool fresh);
  // The workers that answer; after a failed step, those that are not
  // gone (a dying task may still accept a first probe).
  std::vector<int> Alive(bool after_failure) const;
  // One step of every replica; with `average`, then the model average
  // (local-sgd, average).
  absl::Status Step(int64_t epoch, int64_t step_in_epoch, bool average,
                    double* loss);
  absl::Status Average();
  std::pair<int64_t, int64_t> ShardOf(int rank, int size) const {
    return ShardRows(data_.rows, rank, size);
  }
  void Log(const std::string& line) { progress_ << line << std::endl; }

  TrainFlags f_;
  ::tensorflow::GraphDef model_def_;
  std::unique_ptr<Graph> model_;
  std::string loss_node_;
  int loss_index_;
  Dataset data_, eval_;
  Cluster cluster_;
  std::unique_ptr<EventsWriter> events_;  // --logdir; null without.
  std::ostream& out_;
  std::ostream& progress_;
  Formation form_;
  int group_key_ = 0;
  int64_t bytes_sent_ = 0;
  Clock::time_point last_probe_;
  // The shards' row orders of epoch orders_epoch_.
  std::vector<std::vector<int64_t>> orders_;
  int64_t orders_epoch_ = -1;
};

std::vector<int> Trainer::Alive(bool after_failure) const {
  std::vector<int> alive;
  const std::vector<bool> gone =
      after_failure && !cluster_.master.empty()
          ? GoneEach(cluster_.workers)
          : std::vector<bool>(cluster_.workers.size(), false);
  for (size_t t = 0; t < cluster_.workers.size(); ++t) {
    if (cluster_.master.empty() ||
        (after_failure ? !gone[t] : Listening(cluster_.workers[t], 500))) {
      alive.push_back(static_cast<int>(t));
    }
  }
  return alive;
}

absl::Status Trainer::Reform(std::vector<int> tasks, bool fresh) {
  if (form_.session != nullptr) (void)form_.session->Close();
  form_ = Formation();
  ++group_key_;
  ASSIGN_OR_RETURN(form_, Form(f_, model_def_, *model_, loss_node_, loss_index_,
                               data_, cluster_, tasks, group_key_));
  // Each rank's shard to its task, once.
  std::vector<std::pair<std::string, Tensor>> shards;
  const int size = static_cast<int>(tasks.size());
  for (int rank = 0; rank < size; ++rank) {
    const auto [lo, hi] = ShardOf(rank, size);
    for (size_t c = 0; c < data_.names.size(); ++c) {
      ASSIGN_OR_RETURN(Tensor shard, data_.columns[c].Slice(lo, hi));
      shards.emplace_back(form_.load_feeds[rank * data_.names.size() + c],
                          std::move(shard));
    }
  }
  RETURN_IF_ERROR(form_.session->Run(shards, {}, form_.loads).status());
  if (fresh) RETURN_IF_ERROR(form_.session->Run({}, {}, {form_.init}).status());
  if (tasks.size() > 1) {
    RETURN_IF_ERROR(form_.session->Run({}, {}, form_.syncs).status());
  }
  return absl::OkStatus();
}

absl::Status Trainer::Average() {
  const int size = static_cast<int>(form_.tasks.size());
  if (size > 1) {
    RETURN_IF_ERROR(form_.session->Run({}, {}, form_.averages).status());
  }
  bytes_sent_ += 2 * (size - 1) * form_.averaged_bytes;
  return absl::OkStatus();
}

absl::Status Trainer::Step(int64_t epoch, int64_t step_in_epoch, bool average,
                           double* loss) {
  const int size = static_cast<int>(form_.tasks.size());
  const int64_t per = f_.batch / size;
  std::vector<std::pair<std::string, Tensor>> feeds;
  if (orders_epoch_ != epoch || static_cast<int>(orders_.size()) != size) {
    // Each shard's rows (numbered within the shard) in an order fixed by the
    // seed, the epoch and the shard.
    orders_.assign(size, {});
    for (int rank = 0; rank < size; ++rank) {
      const auto [lo, hi] = ShardOf(rank, size);
      orders_[rank] = ShardOrder(hi - lo, f_.seed, epoch, rank);
    }
    orders_epoch_ = epoch;
  }
  for (int rank = 0; rank < size; ++rank) {
    feeds.emplace_back(ReplicaPrefix(form_.tasks[rank]) + "/rill_rows",
                       BatchRows(orders_[rank], step_in_epoch, per));
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> losses,
                   form_.session->Run(feeds, form_.losses, form_.trains));
  double sum = 0;
  for (const Tensor& l : losses) sum += ScalarValue(l);
  *loss = sum / size;
  // The ring's volume: each rank sends 2 (N-1)/N of every reduced buffer.
  bytes_sent_ += 2 * (size - 1) * form_.fused_bytes;
  return average ? Average() : absl::OkStatus();
}

absl::Status Trainer::Train() {
  const int workers = static_cast<int>(cluster_.workers.size());
  if (f_.batch % workers != 0 || f_.batch < workers) {
    return FlagError("--batch", absl::StrCat("the global batch ", f_.batch,
                                             " must be a multiple of the ",
                                             workers, " workers"));
  }
  if (data_.rows / workers < f_.batch / workers) {
    return FlagError(
        "--batch", absl::StrCat("each of the ", workers, " workers gets ",
                                data_.rows / workers, " rows, fewer than its ",
                                f_.batch / workers, " rows of a batch"));
  }
  std::vector<int> all(workers);
  std::iota(all.begin(), all.end(), 0);
  RETURN_IF_ERROR(Reform(all, /*fresh=*/true));
  const auto start = Clock::now();
  last_probe_ = start;
  int64_t step = 0, epoch = 0, examples = 0;
  const int64_t steps_per_epoch =
      std::max<int64_t>(1, (data_.rows / workers) / (f_.batch / workers));
  const int64_t total = f_.steps > 0 ? f_.steps : f_.epochs * steps_per_epoch;
  if (f_.resume) {
    // Rank 0's variables from the checkpoint, then to every rank.
    ASSIGN_OR_RETURN(
        epoch, form_.checkpoints->RestoreNewest(*form_.session, progress_));
    if (form_.tasks.size() > 1) {
      RETURN_IF_ERROR(form_.session->Run({}, {}, form_.syncs).status());
    }
    step = std::min(total, epoch * steps_per_epoch);
  }
  while (step < total) {
    const auto epoch_start = Clock::now();
    const int64_t epoch_examples = examples;
    double loss_sum = 0;
    int64_t in_epoch = 0;
    for (; in_epoch < steps_per_epoch && step < total; ++in_epoch) {
      double loss = 0;
      // local-sgd averages every --tau steps; average at the end only.
      const bool average = f_.scheme == "local-sgd" && (step + 1) % f_.tau == 0;
      absl::Status s = Step(epoch, in_epoch, average, &loss);
      if (!s.ok()) {
        // Elastic: go on when workers died and the master lives.
        if (cluster_.master.empty() ||
            !Listening(cluster_.master.substr(7), 500)) {
          return s;
        }
        const std::vector<int> alive = Alive(/*after_failure=*/true);
        std::vector<int> kept, lost;
        for (int t : form_.tasks) {
          const bool up =
              std::find(alive.begin(), alive.end(), t) != alive.end();
          (up ? kept : lost).push_back(t);
        }
        if (lost.empty() || kept.empty()) return s;
        Log(absl::StrCat("lost worker ", absl::StrJoin(lost, ", "), " (",
                         s.message(), "); continuing with ", kept.size(),
                         " workers"));
        if (f_.batch % kept.size() != 0) {
          Log(absl::StrCat("the global batch ", f_.batch, " is now ",
                           (f_.batch / kept.size()) * kept.size()));
        }
        RETURN_IF_ERROR(Reform(kept, /*fresh=*/false));
        --in_epoch;
        continue;
      }
      loss_sum += loss;
      if (events_ != nullptr) {
        RETURN_IF_ERROR(events_->Scalar("loss", step + 1, loss));
      }
      examples += (f_.batch / static_cast<int64_t>(form_.tasks.size())) *
                  static_cast<int64_t>(form_.tasks.size());
      ++step;
      // A worker that answers again joins at the next step.
      if (form_.tasks.size() < cluster_.workers.size() &&
          Clock::now() - last_probe_ > std::chrono::seconds(1)) {
        last_probe_ = Clock::now();
        std::vector<int> alive = Alive(/*after_failure=*/false);
        if (alive.size() > form_.tasks.size()) {
          Log(absl::StrCat("worker(s) back; continuing with ", alive.size(),
                           " workers"));
          RETURN_IF_ERROR(Reform(alive, /*fresh=*/false));
        }
      }
    }
    ++epoch;
    const double seconds =
        std::chrono::duration<double>(Clock::now() - epoch_start).count();
    ASSIGN_OR_RETURN(
        std::string line,
        EpochLine(*form_.session, ReplicaPrefix(form_.tasks[0]), f_, eval_,
                  epoch, step, loss_sum / std::max<int64_t>(1, in_epoch),
                  (examples - epoch_examples) / std::max(seconds, 1e-9),
                  static_cast<int>(form_.tasks.size()), events_.get(), step));
    Log(line);
    if (form_.checkpoints != nullptr) {
      ASSIGN_OR_RETURN(std::string saved,
                       form_.checkpoints->Save(*form_.session, epoch, step));
      Log("checkpoint " + saved);
    }
  }
  // The last model average, unless the last step made it.
  if (f_.scheme == "average" ||
      (f_.scheme == "local-sgd" && step % f_.tau != 0)) {
    RETURN_IF_ERROR(Average());
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  TrainResult result{.workers = workers,
                     .workers_at_end = static_cast<int>(form_.tasks.size()),
                     .steps = step,
                     .epochs = epoch,
                     .examples = examples,
                     .bytes_sent = bytes_sent_,
                     .seconds = seconds};
  // The final figures on rank 0's replica.
  RETURN_IF_ERROR(FinalFigures(*form_.session, ReplicaPrefix(form_.tasks[0]),
                               f_, absl::StrCat(loss_node_, ":", loss_index_),
                               data_, eval_, &result));
  (void)form_.session->Close();
  PrintResult(f_, result, out_);
  return absl::OkStatus();
}

}  // namespace

absl::Status Train(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(TrainFlags f, ParseFlags(args));
  RETURN_IF_ERROR(f.security.Apply().status());
  ASSIGN_OR_RETURN(::tensorflow::GraphDef model_def, ReadGraphDef(f.model));
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> model, ImportGraphDef(model_def));
  absl::StatusOr<InputRef> loss = ParseInputRef(f.loss);
  if (!loss.ok() || loss->index == kControlSlot) {
    return FlagError("--loss", absl::StrCat("'", f.loss, "' is not a tensor"));
  }
  const Node* loss_node = model->FindNode(loss->node);
  if (loss_node == nullptr || loss->index >= loss_node->num_outputs()) {
    return absl::NotFoundError(
        absl::StrCat("--loss: the model has no tensor '", f.loss, "'"));
  }
  for (const std::string& m : f.metrics) {
    absl::StatusOr<InputRef> ref = ParseInputRef(m);
    if (!ref.ok() || ref->index == kControlSlot ||
        model->FindNode(ref->node) == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("--metric: the model has no tensor '", m, "'"));
    }
  }
  ASSIGN_OR_RETURN(Dataset data, LoadData("--data", f.data, *model));
  Dataset eval;
  if (!f.eval.empty()) {
    ASSIGN_OR_RETURN(eval, LoadData("--eval", f.eval, *model));
    // Evaluation feeds the tensors that stand for the --data placeholders.
    for (const std::string& name : eval.names) {
      if (std::find(data.names.begin(), data.names.end(), name) ==
          data.names.end()) {
        return FlagError("--eval", absl::StrCat("'", name,
                                                "' is not bound by --data; "
                                                "evaluation feeds what "
                                                "training feeds"));
      }
    }
  }
  ASSIGN_OR_RETURN(
      Cluster cluster,
      ConnectCluster(f.local_cluster, f.cluster_json,
                     UsesParameterServers(f.scheme)
                         ? absl::StrCat("--scheme ", f.scheme,
                                        " keeps the variables on ps tasks")
                         : ""));
  const std::string loss_node_name(loss->node);
  const int loss_index = loss->index;
  std::unique_ptr<EventsWriter> events;
  if (!f.logdir.empty()) {
    absl::StatusOr<std::unique_ptr<EventsWriter>> writer =
        EventsWriter::Create(f.logdir);
    if (!writer.ok()) return FlagError("--logdir", writer.status().message());
    events = *std::move(writer);
  }
  const bool model_parallel = f.scheme == "model-parallel";
  if (UsesParameterServers(f.scheme) || model_parallel) {
    TrainJob job{.flags = std::move(f),
                 .model_def = std::move(model_def),
                 .model = std::move(model),
                 .loss_node = loss_node_name,
                 .loss_index = loss_index,
                 .data = std::move(data),
                 .eval = std::move(eval),
                 .cluster = std::move(cluster),
                 .events = std::move(events)};
    return model_parallel ? TrainModelParallel(job, out)
                          : TrainWithParameterServers(job, out);
  }
  Trainer trainer(std::move(f), std::move(model_def), std::move(model),
                  loss_node_name, loss_index, std::move(data), std::move(eval),
                  std::move(cluster), std::move(events), out);
  return trainer.Train();
}

}  // namespace rill::tools
