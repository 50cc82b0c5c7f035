// rill train: trains a model GraphDef with one of the lecture's schemes
// (SPEC 7). This build has the `allreduce` scheme.
//
// The driver builds one graph holding a replica of the model per worker
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
#include <algorithm>
#include <chrono>
#include <cmath>
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

namespace rill::tools {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSchemes[] = {"sync-ps",   "async-ps",  "ssp",
                                    "allreduce", "local-sgd", "average"};

struct TrainFlags {
  std::string model;
  std::string loss;
  std::vector<std::pair<std::string, std::string>> data, eval;
  std::vector<std::string> metrics;
  std::string scheme;
  std::string cluster_json;
  std::map<std::string, int> local_cluster;  // job -> tasks; empty: none.
  std::string optimizer = "sgd";
  double lr = 0.01;
  int64_t batch = 32;
  int64_t epochs = 0;
  int64_t steps = 0;
  double fusion_mb = 64;
  int64_t seed = 0;
  bool json = false;
  // Flags of other schemes, kept to say that they do not apply.
  std::vector<std::string> other_scheme_flags;
};

absl::Status FlagError(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why));
}

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

template <typename T>
absl::Status ParseNumber(absl::string_view flag, const std::string& value,
                         T min, T* out) {
  T v;
  bool ok;
  if constexpr (std::is_floating_point_v<T>) {
    ok = absl::SimpleAtod(value, &v) && std::isfinite(v);
  } else {
    ok = absl::SimpleAtoi(value, &v);
  }
  if (!ok || v < min) {
    return FlagError(flag, absl::StrCat("expected a number of at least ", min,
                                        ", got '", value, "'"));
  }
  *out = v;
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
      f.other_scheme_flags.push_back(name);
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
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        std::pair<std::string, std::string> kv =
            absl::StrSplit(part, absl::MaxSplits('=', 1));
        int n = -1;
        if ((kv.first != "ps" && kv.first != "worker") ||
            !absl::SimpleAtoi(kv.second, &n) || n < 0 || n > 64) {
          return FlagError(name, absl::StrCat("expected ps=P,worker=W (W from "
                                              "1 to 64), got '",
                                              value, "'"));
        }
        f.local_cluster[kv.first] = n;
      }
      if (!f.local_cluster.contains("worker") ||
          f.local_cluster.at("worker") < 1) {
        return FlagError(name, absl::StrCat("needs worker=W with W >= 1, got '",
                                            value, "'"));
      }
    } else if (name == "--optimizer") {
      if (value != "sgd" && value != "momentum" && value != "adam" &&
          value != "adagrad") {
        return FlagError(name, absl::StrCat("expected sgd, momentum, adam or "
                                            "adagrad, got '",
                                            value, "'"));
      }
      f.optimizer = value;
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
      if (value != "text" && value != "json") {
        return FlagError(
            name, absl::StrCat("expected text or json, got '", value, "'"));
      }
      f.json = value == "json";
    } else if (name == "--tau" || name == "--n-fetch" || name == "--n-push" ||
               name == "--staleness" || name == "--replicas-to-aggregate" ||
               name == "--checkpoint-dir" || name == "--logdir") {
      f.other_scheme_flags.push_back(name);
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
  if (f.scheme != "allreduce") {
    return absl::UnimplementedError(absl::StrCat(
        "--scheme ", f.scheme,
        " is not in this build yet; it trains with --scheme allreduce"));
  }
  if (!f.other_scheme_flags.empty()) {
    return absl::UnimplementedError(
        absl::StrCat(absl::StrJoin(f.other_scheme_flags, ", "),
                     ": not supported with --scheme allreduce in this build"));
  }
  if (!f.cluster_json.empty() && !f.local_cluster.empty()) {
    return absl::InvalidArgumentError(
        "give --cluster or --local-cluster, not both");
  }
  if (auto ps = f.local_cluster.find("ps");
      ps != f.local_cluster.end() && ps->second > 0) {
    return FlagError("--local-cluster",
                     "--scheme allreduce uses no ps tasks: give ps=0");
  }
  if (!f.metrics.empty() && f.eval.empty()) {
    return FlagError("--metric", "needs held-out data: give --eval");
  }
  if (f.epochs == 0 && f.steps == 0) f.epochs = 1;
  return f;
}

// One column per bound placeholder, all with the same number of rows.
struct Dataset {
  std::vector<std::string> names;
  std::vector<Tensor> columns;
  int64_t rows = 0;
};

absl::StatusOr<Dataset> LoadData(
    absl::string_view flag,
    const std::vector<std::pair<std::string, std::string>>& files,
    const Graph& model) {
  Dataset d;
  for (const auto& [name, path] : files) {
    const Node* node = model.FindNode(name);
    if (node == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          flag, " ", name, ": the model has no node '", name, "'"));
    }
    if (node->op() != "Placeholder" && node->op() != "PlaceholderWithDefault") {
      return FlagError(flag, absl::StrCat("'", name, "' is a ", node->op(),
                                          ", not a Placeholder"));
    }
    if (std::find(d.names.begin(), d.names.end(), name) != d.names.end()) {
      return FlagError(flag, absl::StrCat("'", name, "' is bound twice"));
    }
    absl::StatusOr<Tensor> t = ReadNpy(path, BaseType(node->output_type(0)));
    if (!t.ok()) {
      return absl::Status(
          t.status().code(),
          absl::StrCat(flag, " ", name, "=", path, ": ", t.status().message()));
    }
    if (t->dims() < 1) {
      return FlagError(flag, absl::StrCat(path,
                                          " holds a scalar; its rows "
                                          "must be examples"));
    }
    if (!d.names.empty() && t->dim_size(0) != d.rows) {
      return FlagError(flag,
                       absl::StrCat(path, " has ", t->dim_size(0), " rows, ",
                                    files[0].second, " has ", d.rows));
    }
    d.rows = t->dim_size(0);
    d.names.push_back(name);
    d.columns.push_back(*std::move(t));
  }
  if (d.rows == 0) return FlagError(flag, "the data has no rows");
  return d;
}

std::unique_ptr<Optimizer> MakeOptimizer(const TrainFlags& f) {
  if (f.optimizer == "momentum") {
    return std::make_unique<MomentumOptimizer>(f.lr, 0.9);
  }
  if (f.optimizer == "adam") return std::make_unique<AdamOptimizer>(f.lr);
  if (f.optimizer == "adagrad") return std::make_unique<AdagradOptimizer>(f.lr);
  return std::make_unique<GradientDescentOptimizer>(f.lr);
}

// The model's initializers: its "init" node when it has one, else every
// Assign/AssignVariableOp of a variable that the loss does not depend on.
std::vector<std::string> InitializersOf(const Graph& model,
                                        const std::string& loss_node) {
  if (model.FindNode("init") != nullptr) return {"init"};
  absl::flat_hash_set<const Node*> needed;
  std::vector<const Node*> stack = {model.FindNode(loss_node)};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n == nullptr || !needed.insert(n).second) continue;
    for (int i = 0; i < n->num_inputs(); ++i) {
      if (n->input_edge(i) != nullptr) stack.push_back(n->input_edge(i)->src);
    }
    for (const Edge* e : n->control_in_edges()) stack.push_back(e->src);
  }
  std::vector<std::string> inits;
  for (const Node* n : model.nodes()) {
    if ((n->op() != "Assign" && n->op() != "AssignVariableOp") ||
        needed.contains(n) || n->input_edge(0) == nullptr) {
      continue;
    }
    const std::string& src = n->input_edge(0)->src->op();
    if (src == "VariableV2" || src == "VarHandleOp") inits.push_back(n->name());
  }
  return inits;
}

std::string ReplicaPrefix(int task) { return absl::StrCat("replica_", task); }

// Where the workers are, and what the driver started.
struct Cluster {
  std::unique_ptr<LocalCluster> local;  // Set for --local-cluster.
  std::string master;                   // "" in-process.
  std::vector<std::string> workers;     // Address of each worker task.
};

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
  for (int rank = 0; rank < size; ++rank) {
    const std::string prefix = ReplicaPrefix(tasks[rank]);
    Scope s = root.NewSubScope(prefix);
    if (!cluster.master.empty()) {
      s = s.WithDevice(absl::StrCat("/job:worker/task:", tasks[rank]));
    }
    // The replica's shard lives on its task: each bound placeholder is
    // replaced by the rows of its shard that the step's "rill_rows" picks
    // (loaded once per formation; a step then sends only row numbers).
    absl::flat_hash_map<std::string, Output> input_map;
    Scope store = s.NewSubScope("rill_data");
    Scope inputs = s.NewSubScope("rill_input");
    auto rows = ops::Placeholder(s.WithOpName("rill_rows"), DT_INT64);
    for (size_t c = 0; c < data.names.size(); ++c) {
      const std::string& name = data.names[c];
      const DataType dtype = data.columns[c].dtype();
      auto var = ops::VariableV2(store.WithOpName(name),
                                 PartialTensorShape::UnknownRank(), dtype);
      auto value = ops::Placeholder(store.WithOpName(name + "/value"), dtype);
      auto load = ops::Assign(store.WithOpName(name + "/load"), var, value,
                              ops::Assign::ValidateShape(false));
      input_map[name] =
          ops::GatherV2(inputs.WithOpName(name), var, rows, int32_t{0});
      form.loads.push_back(load.node()->name());
      form.load_feeds.push_back(value.node()->name());
    }
    ASSIGN_OR_RETURN(ImportedNodes nodes,
                     ImportIntoScope(s, model_def, input_map));
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
      if (!absl::StartsWith(v.node()->name(), prefix + "/rill_data/")) {
        trained.push_back(v);
      }
    }
    ASSIGN_OR_RETURN(
        Operation train,
        opt.Minimize(s, loss, {.var_list = trained, .name = "rill_train"}));
    std::vector<Operation> inits = opt.initializers();
    for (const std::string& name : model_inits) {
      inits.emplace_back(nodes.at(name));
    }
    auto init =
        ops::NoOp(s.WithOpName("rill_init").WithControlDependencies(inits));
    std::vector<Output> vars;
    for (const Output& v : VariablesUnder(*root.graph(), prefix)) {
      if (!absl::StartsWith(v.node()->name(), prefix + "/rill_data/")) {
        vars.push_back(v);
      }
    }
    ASSIGN_OR_RETURN(Operation sync, opt.BroadcastVariables(s, vars, rank));
    form.trains.push_back(train.name());
    form.losses.push_back(absl::StrCat(loss_node->name(), ":", loss_index));
    form.syncs.push_back(sync.name());
    if (rank == 0) {
      form.init = init.operation.name();
      for (int64_t b : opt.bucket_bytes()) form.fused_bytes += b;
    }
  }
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

// What a pass over `data` gives for `fetches` (scalars) on one replica:
// each the mean over the rows, weighted by the rows of each chunk.
absl::StatusOr<std::vector<double>> Evaluate(
    SessionInterface& session, const std::string& prefix, const Dataset& data,
    const std::vector<std::string>& fetches, int64_t chunk) {
  std::vector<double> sums(fetches.size(), 0.0);
  std::vector<std::string> names;
  for (const std::string& f : fetches) names.push_back(prefix + "/" + f);
  for (int64_t begin = 0; begin < data.rows; begin += chunk) {
    const int64_t end = std::min(data.rows, begin + chunk);
    std::vector<std::pair<std::string, Tensor>> feeds;
    for (size_t c = 0; c < data.names.size(); ++c) {
      ASSIGN_OR_RETURN(Tensor rows, data.columns[c].Slice(begin, end));
      feeds.emplace_back(prefix + "/rill_input/" + data.names[c],
                         std::move(rows));
    }
    ASSIGN_OR_RETURN(std::vector<Tensor> out, session.Run(feeds, names, {}));
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].NumElements() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("--metric ", fetches[i], " is not a scalar: shape ",
                         out[i].shape().DebugString()));
      }
      double v;
      switch (out[i].dtype()) {
        case DT_FLOAT:
          v = out[i].flat<float>()[0];
          break;
        case DT_DOUBLE:
          v = out[i].flat<double>()[0];
          break;
        case DT_INT32:
          v = out[i].flat<int32_t>()[0];
          break;
        case DT_INT64:
          v = static_cast<double>(out[i].flat<int64_t>()[0]);
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat(
              "--metric ", fetches[i], " has dtype ",
              DataTypeName(out[i].dtype()), "; a number is needed"));
      }
      sums[i] += v * static_cast<double>(end - begin);
    }
  }
  for (double& s : sums) s /= static_cast<double>(data.rows);
  return sums;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream s;
  s << std::setprecision(8) << v;
  return s.str();
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class Trainer {
 public:
  Trainer(TrainFlags f, ::tensorflow::GraphDef model_def,
          std::unique_ptr<Graph> model, std::string loss_node, int loss_index,
          Dataset data, Dataset eval, Cluster cluster, std::ostream& out)
      : f_(std::move(f)),
        model_def_(std::move(model_def)),
        model_(std::move(model)),
        loss_node_(std::move(loss_node)),
        loss_index_(loss_index),
        data_(std::move(data)),
        eval_(std::move(eval)),
        cluster_(std::move(cluster)),
        out_(out),
        progress_(f_.json ? std::cerr : out) {}

  absl::Status Train();

 private:
  // A new group of `tasks`; `fresh` when no variable exists yet.
  absl::Status Reform(std::vector<int> tasks, bool fresh);
  // The workers whose address answers.
  std::vector<int> Alive() const;
  absl::Status Step(int64_t epoch, int64_t step_in_epoch, double* loss);
  // Rows [lo, hi) of the training data: shard `rank` of `size`.
  std::pair<int64_t, int64_t> ShardOf(int rank, int size) const {
    return {data_.rows * rank / size, data_.rows * (rank + 1) / size};
  }
  void Log(const std::string& line) { progress_ << line << std::endl; }

  TrainFlags f_;
  ::tensorflow::GraphDef model_def_;
  std::unique_ptr<Graph> model_;
  std::string loss_node_;
  int loss_index_;
  Dataset data_, eval_;
  Cluster cluster_;
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

std::vector<int> Trainer::Alive() const {
  std::vector<int> alive;
  for (size_t t = 0; t < cluster_.workers.size(); ++t) {
    if (cluster_.master.empty() || Listening(cluster_.workers[t], 500)) {
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

absl::Status Trainer::Step(int64_t epoch, int64_t step_in_epoch, double* loss) {
  const int size = static_cast<int>(form_.tasks.size());
  const int64_t per = f_.batch / size;
  std::vector<std::pair<std::string, Tensor>> feeds;
  if (orders_epoch_ != epoch || static_cast<int>(orders_.size()) != size) {
    // Each shard's rows (numbered within the shard) in an order fixed by the
    // seed, the epoch and the shard.
    orders_.assign(size, {});
    for (int rank = 0; rank < size; ++rank) {
      const auto [lo, hi] = ShardOf(rank, size);
      orders_[rank].resize(hi - lo);
      std::iota(orders_[rank].begin(), orders_[rank].end(), 0);
      std::mt19937_64 rng(static_cast<uint64_t>(f_.seed) * 1000003u +
                          static_cast<uint64_t>(epoch) * 7919u + rank);
      std::shuffle(orders_[rank].begin(), orders_[rank].end(), rng);
    }
    orders_epoch_ = epoch;
  }
  for (int rank = 0; rank < size; ++rank) {
    const std::vector<int64_t>& order = orders_[rank];
    std::vector<int64_t> index;
    for (int64_t i = 0; i < per; ++i) {
      index.push_back(order[(step_in_epoch * per + i) % order.size()]);
    }
    feeds.emplace_back(ReplicaPrefix(form_.tasks[rank]) + "/rill_rows",
                       Tensor::FromVector<int64_t>(index));
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> losses,
                   form_.session->Run(feeds, form_.losses, form_.trains));
  double sum = 0;
  for (const Tensor& l : losses) {
    sum += l.dtype() == DT_DOUBLE ? l.flat<double>()[0] : l.flat<float>()[0];
  }
  *loss = sum / size;
  // The ring's volume: each rank sends 2 (N-1)/N of every reduced buffer.
  bytes_sent_ += 2 * (size - 1) * form_.fused_bytes;
  return absl::OkStatus();
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
  while (step < total) {
    const auto epoch_start = Clock::now();
    const int64_t epoch_examples = examples;
    double loss_sum = 0;
    int64_t in_epoch = 0;
    for (; in_epoch < steps_per_epoch && step < total; ++in_epoch) {
      double loss = 0;
      absl::Status s = Step(epoch, in_epoch, &loss);
      if (!s.ok()) {
        // Elastic: go on when workers died and the master lives.
        if (cluster_.master.empty() ||
            !Listening(cluster_.master.substr(7), 500)) {
          return s;
        }
        const std::vector<int> alive = Alive();
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
      examples += (f_.batch / static_cast<int64_t>(form_.tasks.size())) *
                  static_cast<int64_t>(form_.tasks.size());
      ++step;
      // A worker that answers again joins at the next step.
      if (form_.tasks.size() < cluster_.workers.size() &&
          Clock::now() - last_probe_ > std::chrono::seconds(1)) {
        last_probe_ = Clock::now();
        std::vector<int> alive = Alive();
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
    std::string line =
        absl::StrCat("epoch ", epoch, "  step ", step, "  loss ",
                     JsonNumber(loss_sum / std::max<int64_t>(1, in_epoch)));
    if (!f_.metrics.empty()) {
      ASSIGN_OR_RETURN(std::vector<double> values,
                       Evaluate(*form_.session, ReplicaPrefix(form_.tasks[0]),
                                eval_, f_.metrics, f_.batch));
      for (size_t i = 0; i < values.size(); ++i) {
        absl::StrAppend(&line, "  ", f_.metrics[i], " ", JsonNumber(values[i]));
      }
    }
    absl::StrAppend(&line, "  ",
                    static_cast<int64_t>((examples - epoch_examples) /
                                         std::max(seconds, 1e-9)),
                    " examples/s  (", form_.tasks.size(), " workers)");
    Log(line);
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  // The final loss over all the training data, the metrics over the eval
  // data, both on rank 0's replica.
  const std::string prefix = ReplicaPrefix(form_.tasks[0]);
  ASSIGN_OR_RETURN(
      std::vector<double> final_loss,
      Evaluate(*form_.session, prefix, data_,
               {absl::StrCat(loss_node_, ":", loss_index_)}, f_.batch));
  std::vector<double> metrics;
  if (!f_.metrics.empty()) {
    ASSIGN_OR_RETURN(
        metrics, Evaluate(*form_.session, prefix, eval_, f_.metrics, f_.batch));
  }
  (void)form_.session->Close();
  if (f_.json) {
    std::string final_json =
        absl::StrCat("{\"loss\": ", JsonNumber(final_loss[0]));
    for (size_t i = 0; i < metrics.size(); ++i) {
      absl::StrAppend(&final_json, ", ", JsonString(f_.metrics[i]), ": ",
                      JsonNumber(metrics[i]));
    }
    final_json += "}";
    out_ << "{\"scheme\": " << JsonString(f_.scheme)
         << ", \"workers\": " << workers
         << ", \"workers_at_end\": " << form_.tasks.size()
         << ", \"steps\": " << step << ", \"epochs\": " << epoch
         << ", \"seconds\": " << JsonNumber(seconds)
         << ", \"examples_per_second\": "
         << JsonNumber(static_cast<double>(examples) / std::max(seconds, 1e-9))
         << ", \"bytes_sent\": " << bytes_sent_ << ", \"final\": " << final_json
         << "}" << std::endl;
  } else {
    std::string line =
        absl::StrCat("done: ", step, " steps in ", JsonNumber(seconds),
                     " s, loss ", JsonNumber(final_loss[0]));
    for (size_t i = 0; i < metrics.size(); ++i) {
      absl::StrAppend(&line, ", ", f_.metrics[i], " ", JsonNumber(metrics[i]));
    }
    out_ << line << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Train(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(TrainFlags f, ParseFlags(args));
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
  Cluster cluster;
  if (!f.local_cluster.empty()) {
    ASSIGN_OR_RETURN(
        cluster.local,
        LocalCluster::Start(
            {{"chief", 1}, {"worker", f.local_cluster.at("worker")}}));
    cluster.master = "grpc://" + cluster.local->Address("chief", 0);
    for (int t = 0; t < f.local_cluster.at("worker"); ++t) {
      cluster.workers.push_back(cluster.local->Address("worker", t));
    }
  } else if (!f.cluster_json.empty()) {
    absl::StatusOr<ClusterSpec> spec = ClusterSpec::FromJson(f.cluster_json);
    if (!spec.ok()) return FlagError("--cluster", spec.status().message());
    for (int t = 0;; ++t) {
      absl::StatusOr<std::string> address = spec->Address("worker", t);
      if (!address.ok()) break;
      cluster.workers.push_back(*address);
    }
    if (cluster.workers.empty()) {
      return FlagError("--cluster", "has no worker job (tasks 0, 1, ...)");
    }
    absl::StatusOr<std::string> chief = spec->Address("chief", 0);
    cluster.master =
        "grpc://" + (chief.ok() ? *chief : cluster.workers.front());
  } else {
    cluster.workers.push_back("");  // One replica in this process.
  }
  const std::string loss_node_name(loss->node);
  const int loss_index = loss->index;
  Trainer trainer(std::move(f), std::move(model_def), std::move(model),
                  loss_node_name, loss_index, std::move(data), std::move(eval),
                  std::move(cluster), out);
  return trainer.Train();
}

}  // namespace rill::tools
