// What the schemes of `rill train` (SPEC 7) share: the parsed flags, the
// training data, a replica's data inputs on its task, the shards' row
// orders, evaluation, and the final report. tools/train.cc parses the flags
// and runs `allreduce`; tools/train_ps.cc runs the parameter-server schemes.
#ifndef RILL_TOOLS_TRAIN_COMMON_H_
#define RILL_TOOLS_TRAIN_COMMON_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/cc/output.h"
#include "core/cc/scope.h"
#include "core/graph/graph.h"
#include "core/protos/graph.pb.h"
#include "runtime/session/session.h"
#include "runtime/training/events_writer.h"
#include "runtime/training/optimizer.h"
#include "runtime/training/saver.h"
#include "tools/flag_values.h"
#include "tools/local_cluster.h"
#include "tools/tensor_text.h"  // JsonString

namespace rill::tools {

struct TrainFlags {
  std::string model;
  SecurityFlags security;  // To reach secured servers; given to local ones.
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
  int64_t n_fetch = 1, n_push = 1;
  int64_t staleness = 3;
  int64_t replicas_to_aggregate = 0;  // 0: every worker.
  int64_t tau = 10;           // local-sgd: local steps between model averages.
  int64_t micro_batches = 4;  // model-parallel: parts of a batch.
  int64_t seed = 0;
  bool json = false;
  std::string checkpoint_dir;  // Absolute; "" without --checkpoint-dir.
  std::string logdir;          // "" without --logdir.
  bool resume = false;
  // Flags given that the chosen scheme does not take.
  std::vector<std::string> other_scheme_flags;
};

absl::Status FlagError(absl::string_view flag, absl::string_view why);

// A flag's number, at least `min`.
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

// --format text|json: whether it is json.
absl::Status ParseFormat(absl::string_view flag, const std::string& value,
                         bool* json);

// "ps=P,worker=W" (W at least 1): job -> tasks.
absl::StatusOr<std::map<std::string, int>> ParseLocalCluster(
    absl::string_view flag, const std::string& value);

// One column per bound placeholder, all with the same number of rows.
struct Dataset {
  std::vector<std::string> names;
  std::vector<Tensor> columns;
  int64_t rows = 0;
};

// The .npy files bound to the model's placeholders by `flag`.
absl::StatusOr<Dataset> LoadData(
    absl::string_view flag,
    const std::vector<std::pair<std::string, std::string>>& files,
    const Graph& model);

// --optimizer's value: one of sgd, momentum, adam and adagrad.
absl::Status ParseOptimizer(absl::string_view flag, const std::string& value,
                            std::string* optimizer);
// The optimizer ParseOptimizer named, at learning rate `lr` (momentum's
// coefficient `momentum`).
std::unique_ptr<Optimizer> MakeOptimizer(const std::string& optimizer,
                                         double lr, double momentum = 0.9);
std::unique_ptr<Optimizer> MakeOptimizer(const TrainFlags& f);

// The model's initializers: its "init" node when it has one, else every
// Assign/AssignVariableOp of a variable that the loss does not depend on.
std::vector<std::string> InitializersOf(const Graph& model,
                                        const std::string& loss_node);

// Where the tasks are, and what the driver started.
struct Cluster {
  std::unique_ptr<LocalCluster> local;  // Set for --local-cluster.
  std::string master;                   // "" in-process.
  std::string master_task;  // "/job:chief/task:0" or "/job:worker/task:0".
  std::vector<std::string> workers;  // Address of each worker task.
  std::vector<std::string> ps;       // Address of each ps task.
};

// --local-cluster (`local`, job -> tasks: a chief as the master, the
// workers and the ps tasks started here), --cluster (`cluster_json`: the
// running servers; the chief, or worker 0, is the master), or neither (one
// worker, in this process, no master). `needs_ps`, when not empty, says why
// --cluster must have a ps job.
absl::StatusOr<Cluster> ConnectCluster(const std::map<std::string, int>& local,
                                       const std::string& cluster_json,
                                       const std::string& needs_ps);

// "replica_<task>": the scope of worker task's copy of the model.
std::string ReplicaPrefix(int task);

// A replica's data inputs, on its task: each bound placeholder is replaced
// (input_map, for ImportIntoScope) by the rows of the replica's shard that
// the step feeds to "<replica>/rill_rows"; the shard lives in a variable
// "<replica>/rill_data/<name>" loaded once by `loads` (fed `load_feeds`).
// Evaluation feeds rows to "<replica>/rill_input/<name>" instead.
struct ReplicaInputs {
  absl::flat_hash_map<std::string, Output> input_map;
  std::vector<std::string> loads, load_feeds;
};
ReplicaInputs AddReplicaInputs(const Scope& replica, const Dataset& data);
// True for the shard variables AddReplicaInputs made (not the model's).
bool IsShardVariable(const Output& var, const std::string& replica_prefix);

// Rows [lo, hi) of `rows`: shard `rank` of `size`.
std::pair<int64_t, int64_t> ShardRows(int64_t rows, int rank, int size);
// The shard's rows (numbered within it) in an order fixed by the seed, the
// epoch and the shard.
std::vector<int64_t> ShardOrder(int64_t shard_rows, int64_t seed, int64_t epoch,
                                int rank);
// `per` row numbers of the step's batch from an epoch's order.
Tensor BatchRows(const std::vector<int64_t>& order, int64_t step_in_epoch,
                 int64_t per);

// What a pass over `data` gives for `fetches` (scalars) on one replica:
// each the mean over the rows, weighted by the rows of each chunk.
absl::StatusOr<std::vector<double>> Evaluate(
    SessionInterface& session, const std::string& prefix, const Dataset& data,
    const std::vector<std::string>& fetches, int64_t chunk);

// A scalar loss (float or double) as a double.
double ScalarValue(const Tensor& t);

// The progress line of an epoch: "epoch E  step S  loss L", each --metric
// on the eval data as `replica` computes it, then "N examples/s  (W
// workers)". With `events` (--logdir), the metrics and examples/s go to
// the event file too, at `events_step` (the parameters' updates so far),
// and the file is flushed.
absl::StatusOr<std::string> EpochLine(SessionInterface& session,
                                      const std::string& replica,
                                      const TrainFlags& f, const Dataset& eval,
                                      int64_t epoch, int64_t step, double loss,
                                      double examples_per_second, int workers,
                                      EventsWriter* events,
                                      int64_t events_step);

// `digits` significant digits; null for NaN and infinities.
std::string JsonNumber(double v, int digits = 8);

// What a run reports at its end (SPEC 7's JSON object, or a text line).
struct TrainResult {
  int workers = 0, workers_at_end = 0;
  int64_t steps = 0, epochs = 0, examples = 0, bytes_sent = 0;
  double seconds = 0;
  double final_loss = 0;
  std::vector<double> metrics;
};
// Fills r's final_loss (`loss` over the training data) and metrics (over
// the eval data), as `replica` computes them.
absl::Status FinalFigures(SessionInterface& session, const std::string& replica,
                          const TrainFlags& f, const std::string& loss,
                          const Dataset& data, const Dataset& eval,
                          TrainResult* r);
void PrintResult(const TrainFlags& f, const TrainResult& r, std::ostream& out);

// The model, its loss, the data and the cluster, as Train() checked them.
struct TrainJob {
  TrainFlags flags;
  ::tensorflow::GraphDef model_def;
  std::unique_ptr<Graph> model;
  std::string loss_node;
  int loss_index = 0;
  Dataset data, eval;
  Cluster cluster;
  std::unique_ptr<EventsWriter> events;  // --logdir; null without.
};

// --checkpoint-dir and --resume: after every epoch the parameters (under
// the model's own variable names, so TensorFlow or a run with another
// scheme can read them), the optimizer's state and the epochs done, in
// TensorFlow's format, written by the master's task; a resumed run starts
// after the epoch of the newest checkpoint that restores intact.
class TrainCheckpoints {
 public:
  // Adds the save and restore nodes for `vars`, saved under `names` (as
  // `slices` of them, where given: a partitioned variable's parts), and
  // the epoch counter on `device`; null without --checkpoint-dir.
  static absl::StatusOr<std::unique_ptr<TrainCheckpoints>> Create(
      const Scope& root, const TrainFlags& f, const std::vector<Output>& vars,
      const std::vector<std::string>& names, const std::string& device,
      const std::vector<std::string>& slices = {});
  // After `epochs` epochs, `step` steps.
  absl::StatusOr<std::string> Save(SessionInterface& session, int64_t epochs,
                                   int64_t step);
  // Restores the newest checkpoint that restores (an older one when the
  // newest is damaged, said on `log`); the epochs it had done, 0 when
  // there is none.
  absl::StatusOr<int64_t> RestoreNewest(SessionInterface& session,
                                        std::ostream& log);

 private:
  TrainCheckpoints(std::string dir, std::unique_ptr<Saver> saver)
      : dir_(std::move(dir)), saver_(std::move(saver)) {}
  std::string dir_;
  std::unique_ptr<Saver> saver_;
};

// sync-ps, async-ps and ssp (tools/train_ps.cc).
absl::Status TrainWithParameterServers(TrainJob& job, std::ostream& out);
// model-parallel (tools/train_mp.cc).
absl::Status TrainModelParallel(TrainJob& job, std::ostream& out);

}  // namespace rill::tools

#endif  // RILL_TOOLS_TRAIN_COMMON_H_
