#include "tools/train_common.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "distributed/cluster.h"
#include "tools/tensor_text.h"

namespace rill::tools {

absl::Status FlagError(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why));
}

absl::Status ParseFormat(absl::string_view flag, const std::string& value,
                         bool* json) {
  if (value != "text" && value != "json") {
    return FlagError(flag,
                     absl::StrCat("expected text or json, got '", value, "'"));
  }
  *json = value == "json";
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, int>> ParseLocalCluster(
    absl::string_view flag, const std::string& value) {
  std::map<std::string, int> jobs;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    int n = -1;
    if ((kv.first != "ps" && kv.first != "worker") ||
        !absl::SimpleAtoi(kv.second, &n) || n < 0 || n > 64) {
      return FlagError(flag, absl::StrCat("expected ps=P,worker=W (W from "
                                          "1 to 64), got '",
                                          value, "'"));
    }
    jobs[kv.first] = n;
  }
  if (!jobs.contains("worker") || jobs.at("worker") < 1) {
    return FlagError(
        flag, absl::StrCat("needs worker=W with W >= 1, got '", value, "'"));
  }
  return jobs;
}

absl::StatusOr<Cluster> ConnectCluster(const std::map<std::string, int>& local,
                                       const std::string& cluster_json,
                                       const std::string& needs_ps) {
  Cluster cluster;
  if (!local.empty()) {
    std::map<std::string, int> jobs = {{"chief", 1},
                                       {"worker", local.at("worker")}};
    if (local.contains("ps") && local.at("ps") > 0) {
      jobs["ps"] = local.at("ps");
    }
    ASSIGN_OR_RETURN(cluster.local, LocalCluster::Start(jobs));
    cluster.master = "grpc://" + cluster.local->Address("chief", 0);
    cluster.master_task = "/job:chief/task:0";
    for (int t = 0; t < local.at("worker"); ++t) {
      cluster.workers.push_back(cluster.local->Address("worker", t));
    }
    for (int t = 0; jobs.contains("ps") && t < jobs.at("ps"); ++t) {
      cluster.ps.push_back(cluster.local->Address("ps", t));
    }
  } else if (!cluster_json.empty()) {
    absl::StatusOr<ClusterSpec> spec = ClusterSpec::FromJson(cluster_json);
    if (!spec.ok()) return FlagError("--cluster", spec.status().message());
    for (const char* job : {"worker", "ps"}) {
      for (int t = 0;; ++t) {
        absl::StatusOr<std::string> address = spec->Address(job, t);
        if (!address.ok()) break;
        (std::string(job) == "ps" ? cluster.ps : cluster.workers)
            .push_back(*address);
      }
    }
    if (cluster.workers.empty()) {
      return FlagError("--cluster", "has no worker job (tasks 0, 1, ...)");
    }
    if (!needs_ps.empty() && cluster.ps.empty()) {
      return FlagError("--cluster", absl::StrCat("has no ps job; ", needs_ps));
    }
    absl::StatusOr<std::string> chief = spec->Address("chief", 0);
    cluster.master =
        "grpc://" + (chief.ok() ? *chief : cluster.workers.front());
    cluster.master_task =
        chief.ok() ? "/job:chief/task:0" : "/job:worker/task:0";
  } else {
    cluster.workers.push_back("");  // One replica in this process.
  }
  return cluster;
}

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

absl::Status ParseOptimizer(absl::string_view flag, const std::string& value,
                            std::string* optimizer) {
  if (value != "sgd" && value != "momentum" && value != "adam" &&
      value != "adagrad") {
    return FlagError(flag, absl::StrCat("expected sgd, momentum, adam or "
                                        "adagrad, got '",
                                        value, "'"));
  }
  *optimizer = value;
  return absl::OkStatus();
}

std::unique_ptr<Optimizer> MakeOptimizer(const std::string& optimizer,
                                         double lr, double momentum) {
  if (optimizer == "momentum") {
    return std::make_unique<MomentumOptimizer>(lr, momentum);
  }
  if (optimizer == "adam") return std::make_unique<AdamOptimizer>(lr);
  if (optimizer == "adagrad") return std::make_unique<AdagradOptimizer>(lr);
  return std::make_unique<GradientDescentOptimizer>(lr);
}

std::unique_ptr<Optimizer> MakeOptimizer(const TrainFlags& f) {
  return MakeOptimizer(f.optimizer, f.lr);
}

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

ReplicaInputs AddReplicaInputs(const Scope& replica, const Dataset& data) {
  ReplicaInputs in;
  Scope store = replica.NewSubScope("rill_data");
  Scope inputs = replica.NewSubScope("rill_input");
  auto rows = ops::Placeholder(replica.WithOpName("rill_rows"), DT_INT64);
  for (size_t c = 0; c < data.names.size(); ++c) {
    const std::string& name = data.names[c];
    const DataType dtype = data.columns[c].dtype();
    auto var = ops::VariableV2(store.WithOpName(name),
                               PartialTensorShape::UnknownRank(), dtype);
    auto value = ops::Placeholder(store.WithOpName(name + "/value"), dtype);
    auto load = ops::Assign(store.WithOpName(name + "/load"), var, value,
                            ops::Assign::ValidateShape(false));
    in.input_map[name] =
        ops::GatherV2(inputs.WithOpName(name), var, rows, int32_t{0});
    in.loads.push_back(load.node()->name());
    in.load_feeds.push_back(value.node()->name());
  }
  return in;
}

bool IsShardVariable(const Output& var, const std::string& replica_prefix) {
  return absl::StartsWith(var.node()->name(), replica_prefix + "/rill_data/");
}

std::pair<int64_t, int64_t> ShardRows(int64_t rows, int rank, int size) {
  return {rows * rank / size, rows * (rank + 1) / size};
}

std::vector<int64_t> ShardOrder(int64_t shard_rows, int64_t seed, int64_t epoch,
                                int rank) {
  std::vector<int64_t> order(shard_rows);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(static_cast<uint64_t>(seed) * 1000003u +
                      static_cast<uint64_t>(epoch) * 7919u + rank);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

Tensor BatchRows(const std::vector<int64_t>& order, int64_t step_in_epoch,
                 int64_t per) {
  std::vector<int64_t> index;
  for (int64_t i = 0; i < per; ++i) {
    index.push_back(order[(step_in_epoch * per + i) % order.size()]);
  }
  return Tensor::FromVector<int64_t>(index);
}

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

std::string JsonNumber(double v, int digits) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream s;
  s << std::setprecision(digits) << v;
  return s.str();
}

double ScalarValue(const Tensor& t) {
  return t.dtype() == DT_DOUBLE ? t.flat<double>()[0] : t.flat<float>()[0];
}

absl::StatusOr<std::string> EpochLine(SessionInterface& session,
                                      const std::string& replica,
                                      const TrainFlags& f, const Dataset& eval,
                                      int64_t epoch, int64_t step, double loss,
                                      double examples_per_second, int workers,
                                      EventsWriter* events,
                                      int64_t events_step) {
  std::string line = absl::StrCat("epoch ", epoch, "  step ", step, "  loss ",
                                  JsonNumber(loss));
  if (!f.metrics.empty()) {
    ASSIGN_OR_RETURN(std::vector<double> values,
                     Evaluate(session, replica, eval, f.metrics, f.batch));
    for (size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(&line, "  ", f.metrics[i], " ", JsonNumber(values[i]));
      if (events != nullptr) {
        RETURN_IF_ERROR(events->Scalar(f.metrics[i], events_step, values[i]));
      }
    }
  }
  if (events != nullptr) {
    RETURN_IF_ERROR(events->Scalar("examples_per_second", events_step,
                                   examples_per_second));
    RETURN_IF_ERROR(events->Flush());
  }
  absl::StrAppend(&line, "  ", static_cast<int64_t>(examples_per_second),
                  " examples/s  (", workers, " workers)");
  return line;
}

absl::Status FinalFigures(SessionInterface& session, const std::string& replica,
                          const TrainFlags& f, const std::string& loss,
                          const Dataset& data, const Dataset& eval,
                          TrainResult* r) {
  ASSIGN_OR_RETURN(std::vector<double> final_loss,
                   Evaluate(session, replica, data, {loss}, f.batch));
  r->final_loss = final_loss[0];
  if (!f.metrics.empty()) {
    ASSIGN_OR_RETURN(r->metrics,
                     Evaluate(session, replica, eval, f.metrics, f.batch));
  }
  return absl::OkStatus();
}

void PrintResult(const TrainFlags& f, const TrainResult& r, std::ostream& out) {
  if (f.json) {
    std::string final_json =
        absl::StrCat("{\"loss\": ", JsonNumber(r.final_loss));
    for (size_t i = 0; i < r.metrics.size(); ++i) {
      absl::StrAppend(&final_json, ", ", JsonString(f.metrics[i]), ": ",
                      JsonNumber(r.metrics[i]));
    }
    final_json += "}";
    out << "{\"scheme\": " << JsonString(f.scheme)
        << ", \"workers\": " << r.workers
        << ", \"workers_at_end\": " << r.workers_at_end
        << ", \"steps\": " << r.steps << ", \"epochs\": " << r.epochs
        << ", \"seconds\": " << JsonNumber(r.seconds)
        << ", \"examples_per_second\": "
        << JsonNumber(static_cast<double>(r.examples) /
                      std::max(r.seconds, 1e-9))
        << ", \"bytes_sent\": " << r.bytes_sent << ", \"final\": " << final_json
        << "}" << std::endl;
    return;
  }
  std::string line =
      absl::StrCat("done: ", r.steps, " steps in ", JsonNumber(r.seconds),
                   " s, loss ", JsonNumber(r.final_loss));
  for (size_t i = 0; i < r.metrics.size(); ++i) {
    absl::StrAppend(&line, ", ", f.metrics[i], " ", JsonNumber(r.metrics[i]));
  }
  out << line << std::endl;
}

namespace {
constexpr char kEpochVar[] = "rill_epoch";
}  // namespace

absl::StatusOr<std::unique_ptr<TrainCheckpoints>> TrainCheckpoints::Create(
    const Scope& root, const TrainFlags& f, const std::vector<Output>& vars,
    const std::vector<std::string>& names, const std::string& device,
    const std::vector<std::string>& slices) {
  if (f.checkpoint_dir.empty()) return nullptr;
  Scope at = root.WithDevice(device);
  auto epoch = ops::VariableV2(at.WithOpName(kEpochVar),
                               PartialTensorShape::Scalar(), DT_INT64);
  auto value = ops::Placeholder(
      at.WithOpName(absl::StrCat(kEpochVar, "/value")), DT_INT64);
  ops::Assign(at.WithOpName(absl::StrCat(kEpochVar, "/set")), epoch, value);
  SaverOptions options;
  options.var_list = vars;
  options.names = names;
  options.var_list.push_back(epoch);
  options.names.push_back(kEpochVar);
  if (!slices.empty()) {
    options.slices = slices;
    options.slices.push_back("");
  }
  options.max_to_keep = 3;
  ASSIGN_OR_RETURN(std::unique_ptr<Saver> saver, Saver::Create(at, options));
  return std::unique_ptr<TrainCheckpoints>(
      new TrainCheckpoints(f.checkpoint_dir, std::move(saver)));
}

absl::StatusOr<std::string> TrainCheckpoints::Save(SessionInterface& session,
                                                   int64_t epochs,
                                                   int64_t step) {
  RETURN_IF_ERROR(session
                      .Run({{absl::StrCat(kEpochVar, "/value"),
                             Tensor::Scalar<int64_t>(epochs)}},
                           {}, {absl::StrCat(kEpochVar, "/set")})
                      .status());
  return saver_->Save(&session, dir_ + "/model", step);
}

absl::StatusOr<int64_t> TrainCheckpoints::RestoreNewest(
    SessionInterface& session, std::ostream& log) {
  ASSIGN_OR_RETURN(std::string restored,
                   RestoreNewestIntact(
                       dir_,
                       [&](const std::string& path) {
                         return saver_->Restore(&session, path);
                       },
                       [&](const std::string& path, const absl::Status& why) {
                         // Damaged, gone, or of another model.
                         log << "checkpoint " << path << " does not restore ("
                             << why.message() << "); trying an older one"
                             << std::endl;
                       }));
  if (!restored.empty()) {
    ASSIGN_OR_RETURN(std::vector<Tensor> epochs,
                     session.Run({}, {absl::StrCat(kEpochVar, ":0")}, {}));
    log << "resumed from " << restored << " (after epoch "
        << epochs[0].scalar<int64_t>() << ")" << std::endl;
    return epochs[0].scalar<int64_t>();
  }
  log << "no checkpoint to resume from in " << dir_ << "; starting afresh"
      << std::endl;
  return 0;
}

}  // namespace rill::tools
