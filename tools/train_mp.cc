// rill train --scheme model-parallel: the model split across the worker
// tasks by layers, as DistBelief partitions a network, with GPipe-style
// micro-batches so that the tasks work at once.
//
// Stages: the model's variables, in the order the loss first reads them,
// are cut into one contiguous run per worker, balanced by bytes; every
// other node runs on the latest stage among its inputs (so tensors only
// flow forward), a node without inputs beside its first consumer. The
// master's partitioner then inserts a Send/Recv pair at each cut.
//
// Micro-batches: the step's global batch is split into --micro-batches
// parts and the forward pass is imported once per part ("mb_<m>/..."),
// every copy reading the same variables; the loss is the mean of the
// parts' losses, so its gradient is the global batch's. The gradient of
// each op runs on its op's stage. Within one step each task's executor runs
// whatever is ready: stage 0 computes part 2 while stage 1 computes part 1,
// and the backward passes follow, as in GPipe; the update is applied once,
// after every part.
#include <algorithm>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/cc/import_graph.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_session.h"
#include "runtime/session/session.h"
#include "runtime/training/allreduce_optimizer.h"
#include "tools/local_cluster.h"
#include "tools/tensor_text.h"
#include "tools/train_common.h"

namespace rill::tools {
namespace {

using Clock = std::chrono::steady_clock;
using ::tensorflow::GraphDef;
using ::tensorflow::NodeDef;

// "x:1" or "^x" -> "x".
std::string NodeOf(absl::string_view input) {
  if (absl::StartsWith(input, "^")) input.remove_prefix(1);
  return std::string(input.substr(0, input.find(':')));
}

bool IsVariable(const NodeDef& n) {
  return n.op() == "VariableV2" || n.op() == "VarHandleOp" ||
         n.op() == "Variable";
}

int64_t VariableBytes(const NodeDef& n) {
  int64_t elements = 1;
  auto it = n.attr().find("shape");
  if (it != n.attr().end()) {
    for (const auto& d : it->second.shape().dim()) {
      elements *= std::max<int64_t>(1, d.size());
    }
  }
  auto dtype = n.attr().find("dtype");
  const int64_t size =
      dtype == n.attr().end() ? 4 : DataTypeSize(dtype->second.type());
  return elements * std::max<int64_t>(1, size);
}

// The nodes of `def` in an order where every node follows its inputs, and
// each node's consumers in the GraphDef's order.
struct Topology {
  std::vector<const NodeDef*> order;
  absl::flat_hash_map<const NodeDef*, std::vector<const NodeDef*>> consumers;
};
absl::StatusOr<Topology> Topological(const GraphDef& def) {
  absl::flat_hash_map<std::string, const NodeDef*> by_name;
  for (const NodeDef& n : def.node()) by_name[n.name()] = &n;
  absl::flat_hash_map<const NodeDef*, int> waiting;
  Topology t;
  auto& consumers = t.consumers;
  std::deque<const NodeDef*> ready;
  for (const NodeDef& n : def.node()) {
    int inputs = 0;
    for (const std::string& in : n.input()) {
      auto it = by_name.find(NodeOf(in));
      if (it == by_name.end()) continue;
      consumers[it->second].push_back(&n);
      ++inputs;
    }
    waiting[&n] = inputs;
    if (inputs == 0) ready.push_back(&n);
  }
  std::vector<const NodeDef*>& order = t.order;
  while (!ready.empty()) {
    const NodeDef* n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (const NodeDef* c : consumers[n]) {
      if (--waiting[c] == 0) ready.push_back(c);
    }
  }
  if (order.size() != static_cast<size_t>(def.node_size())) {
    return absl::InvalidArgumentError(
        "--scheme model-parallel: the model has a cycle");
  }
  return t;
}

// Each node's stage (0 .. stages-1), as the file's comment says.
absl::StatusOr<absl::flat_hash_map<std::string, int>> AssignStages(
    const GraphDef& model, const std::string& loss_node, int stages) {
  ASSIGN_OR_RETURN(Topology topology, Topological(model));
  const std::vector<const NodeDef*>& order = topology.order;
  absl::flat_hash_map<std::string, int> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]->name()] = i;
  // What the loss depends on, and where each variable is first read on
  // that path.
  absl::flat_hash_map<std::string, const NodeDef*> by_name;
  for (const NodeDef& n : model.node()) by_name[n.name()] = &n;
  absl::flat_hash_set<std::string> needed;
  std::vector<std::string> stack = {loss_node};
  while (!stack.empty()) {
    std::string name = stack.back();
    stack.pop_back();
    if (!by_name.contains(name) || !needed.insert(name).second) continue;
    for (const std::string& in : by_name[name]->input()) {
      stack.push_back(NodeOf(in));
    }
  }
  std::map<std::string, size_t> first_read;
  for (const NodeDef* n : order) {
    if (!needed.contains(n->name())) continue;
    for (const std::string& in : n->input()) {
      const std::string src = NodeOf(in);
      if (by_name.contains(src) && IsVariable(*by_name[src]) &&
          !first_read.contains(src)) {
        first_read[src] = position[n->name()];
      }
    }
  }
  std::vector<std::pair<size_t, std::string>> vars;
  int64_t total = 0;
  for (const auto& [name, at] : first_read) {
    vars.emplace_back(at, name);
    total += VariableBytes(*by_name[name]);
  }
  std::sort(vars.begin(), vars.end());
  absl::flat_hash_map<std::string, int> stage;
  int64_t before = 0;
  for (const auto& [at, name] : vars) {
    // A variable belongs to the stage that holds the middle of its bytes.
    const int64_t bytes = VariableBytes(*by_name[name]);
    stage[name] = std::min<int>(
        stages - 1, static_cast<int>(stages * (2 * before + bytes) /
                                     std::max<int64_t>(1, 2 * total)));
    before += bytes;
  }
  std::vector<const NodeDef*> sources;
  for (const NodeDef* n : order) {
    if (stage.contains(n->name())) continue;
    int s = -1;
    for (const std::string& in : n->input()) {
      auto it = stage.find(NodeOf(in));
      if (it != stage.end()) s = std::max(s, it->second);
    }
    if (s < 0) {
      sources.push_back(n);
    } else {
      stage[n->name()] = s;
    }
  }
  // A node without a staged input runs beside its earliest consumer.
  for (auto it = sources.rbegin(); it != sources.rend(); ++it) {
    int s = stages;
    for (const NodeDef* c : topology.consumers[*it]) {
      auto at = stage.find(c->name());
      if (at != stage.end()) s = std::min(s, at->second);
    }
    stage[(*it)->name()] = s == stages ? 0 : s;
  }
  return stage;
}

std::string StageDevice(const Cluster& cluster, int stage) {
  return cluster.master.empty() ? "" : absl::StrCat("/job:worker/task:", stage);
}

// Devices for the nodes the driver added without one: a gradient beside
// its op ("gradients/<op>_grad/..."), a colocated node beside its target,
// else beside its first input, else beside its first consumer.
void PlaceAddedNodes(GraphDef* def, const std::string& fallback) {
  absl::flat_hash_map<std::string, NodeDef*> by_name;
  for (NodeDef& n : *def->mutable_node()) by_name[n.name()] = &n;
  auto device_of = [&](const std::string& name) -> std::string {
    auto it = by_name.find(name);
    return it == by_name.end() ? "" : it->second->device();
  };
  absl::StatusOr<Topology> topology = Topological(*def);
  if (!topology.ok()) return;
  std::vector<NodeDef*> unplaced;
  for (const NodeDef* c : topology->order) {
    NodeDef* n = by_name[c->name()];
    if (!n->device().empty()) continue;
    std::string device;
    const size_t g = n->name().find("gradients/");
    const size_t end = g == std::string::npos ? g : n->name().find("_grad/", g);
    if (end != std::string::npos) {
      device = device_of(n->name().substr(g + 10, end - g - 10));
    }
    auto cls = n->attr().find("_class");
    if (device.empty() && cls != n->attr().end()) {
      for (const std::string& loc : cls->second.list().s()) {
        if (absl::StartsWith(loc, "loc:@")) device = device_of(loc.substr(5));
      }
    }
    for (const std::string& in : n->input()) {
      if (device.empty() && !absl::StartsWith(in, "^")) {
        device = device_of(NodeOf(in));
      }
    }
    n->set_device(device);
    if (device.empty()) unplaced.push_back(n);
  }
  for (NodeDef* n : unplaced) {
    for (const NodeDef* c : topology->consumers[n]) {
      if (!c->device().empty()) {
        n->set_device(c->device());
        break;
      }
    }
    if (n->device().empty()) n->set_device(fallback);
  }
}

std::string MicroBatch(int m) { return absl::StrCat("mb_", m); }

class PipelineTrainer {
 public:
  PipelineTrainer(TrainJob& job, std::ostream& out)
      : job_(job),
        f_(job.flags),
        out_(out),
        progress_(f_.json ? std::cerr : out) {}

  absl::Status Train();

 private:
  absl::Status Build();
  void Log(const std::string& line) { progress_ << line << std::endl; }
  // A failed step: with a worker gone, its stage's layers are gone too.
  absl::Status StepFailed(const absl::Status& why) const;

  TrainJob& job_;
  const TrainFlags& f_;
  std::ostream& out_;
  std::ostream& progress_;
  int stages_used_ = 1;
  std::unique_ptr<SessionInterface> session_;
  std::string train_, init_;
  std::vector<std::string> losses_, loads_, load_feeds_;
  // The tensors that cross stages, in micro-batch 0 (to count bytes).
  std::vector<std::string> cuts_;
  std::vector<bool> cut_has_gradient_;
  std::unique_ptr<TrainCheckpoints> checkpoints_;
};

absl::Status PipelineTrainer::Build() {
  const Cluster& cluster = job_.cluster;
  const int workers = static_cast<int>(cluster.workers.size());
  ASSIGN_OR_RETURN(auto stage,
                   AssignStages(job_.model_def, job_.loss_node, workers));
  for (const auto& [name, s] : stage)
    stages_used_ = std::max(stages_used_, s + 1);
  GraphDef staged = job_.model_def;
  for (NodeDef& n : *staged.mutable_node()) {
    n.set_device(StageDevice(cluster, stage[n.name()]));
  }
  for (const NodeDef& n : staged.node()) {
    for (const std::string& in : n.input()) {
      if (absl::StartsWith(in, "^") || !stage.contains(NodeOf(in)) ||
          stage[NodeOf(in)] == stage[n.name()]) {
        continue;
      }
      // A data input is the rows gathered in its place.
      const bool data =
          std::find(job_.data.names.begin(), job_.data.names.end(),
                    NodeOf(in)) != job_.data.names.end();
      const std::string tensor = absl::StrContains(in, ':') ? in : in + ":0";
      const std::string name =
          MicroBatch(0) + (data ? "/rill_input/" : "/") + tensor;
      if (std::find(cuts_.begin(), cuts_.end(), name) == cuts_.end()) {
        cuts_.push_back(name);
      }
    }
  }

  Scope root = Scope::NewRootScope();
  // Each data column's rows live on the stage that reads them.
  Scope store = root.NewSubScope("rill_data");
  std::vector<Output> columns;
  for (size_t c = 0; c < job_.data.names.size(); ++c) {
    const std::string& name = job_.data.names[c];
    const DataType dtype = job_.data.columns[c].dtype();
    Scope at = store.WithDevice(StageDevice(cluster, stage[name]));
    auto var = ops::VariableV2(at.WithOpName(name),
                               PartialTensorShape::UnknownRank(), dtype);
    auto value = ops::Placeholder(at.WithOpName(name + "/value"), dtype);
    auto load = ops::Assign(at.WithOpName(name + "/load"), var, value,
                            ops::Assign::ValidateShape(false));
    loads_.push_back(load.node()->name());
    load_feeds_.push_back(value.node()->name());
    columns.push_back(var);
  }
  const int parts = static_cast<int>(f_.micro_batches);
  std::vector<Output> part_losses;
  absl::flat_hash_map<std::string, Output> shared;  // Micro-batch 0's.
  ImportedNodes first;
  for (int m = 0; m < parts; ++m) {
    Scope s = root.NewSubScope(MicroBatch(m));
    auto rows = ops::Placeholder(
        s.WithOpName("rill_rows").WithDevice(cluster.master_task), DT_INT64);
    absl::flat_hash_map<std::string, Output> input_map = shared;
    Scope inputs = s.NewSubScope("rill_input");
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string& name = job_.data.names[c];
      input_map[name] = ops::GatherV2(
          inputs.WithOpName(name).WithDevice(StageDevice(cluster, stage[name])),
          columns[c], rows, int32_t{0});
    }
    ASSIGN_OR_RETURN(ImportedNodes nodes,
                     ImportIntoScope(s, staged, input_map));
    if (m == 0) {
      first = nodes;
      for (const NodeDef& n : staged.node()) {
        if (IsVariable(n)) shared[n.name()] = Output(nodes.at(n.name()), 0);
      }
    }
    Node* loss = nodes.at(job_.loss_node);
    part_losses.push_back(Output(loss, job_.loss_index));
    losses_.push_back(absl::StrCat(loss->name(), ":", job_.loss_index));
  }
  // The mean of the parts' losses: the global batch's mean loss.
  Scope last = root.WithDevice(StageDevice(cluster, stage[job_.loss_node]));
  Output total = part_losses[0];
  if (parts > 1) {
    total = ops::Div(last.WithOpName("rill_loss"), ops::AddN(last, part_losses),
                     ops::Cast(last, static_cast<float>(parts),
                               BaseType(part_losses[0].type())));
  }
  std::vector<Output> trained;
  for (const Output& v : VariablesOf(total)) {
    if (!absl::StartsWith(v.node()->name(), "rill_data/")) trained.push_back(v);
  }
  std::unique_ptr<Optimizer> opt = MakeOptimizer(f_);
  ASSIGN_OR_RETURN(
      Operation train,
      opt->Minimize(root, total, {.var_list = trained, .name = "rill_train"}));
  train_ = train.name();
  std::vector<Operation> inits = opt->initializers();
  for (const std::string& name : InitializersOf(*job_.model, job_.loss_node)) {
    inits.emplace_back(first.at(name));
  }
  init_ = ops::NoOp(root.WithOpName("rill_init").WithControlDependencies(inits))
              .operation.name();
  // Micro-batch 0's variables and the optimizer's, under the model's names.
  std::vector<Output> vars;
  std::vector<std::string> names;
  const std::string prefix = MicroBatch(0) + "/";
  for (const Output& v : VariablesUnder(*root.graph())) {
    const std::string& name = v.node()->name();
    if (absl::StartsWith(name, "rill_data/") ||
        (absl::StartsWith(name, "mb_") && !absl::StartsWith(name, prefix))) {
      continue;
    }
    vars.push_back(v);
    names.push_back(absl::StartsWith(name, prefix) ? name.substr(prefix.size())
                                                   : name);
  }
  ASSIGN_OR_RETURN(
      checkpoints_,
      TrainCheckpoints::Create(root, f_, vars, names, StageDevice(cluster, 0)));
  GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));
  PlaceAddedNodes(&def, StageDevice(cluster, 0));
  if (cluster.master.empty()) {
    ASSIGN_OR_RETURN(session_, Session::Create(std::move(def)));
  } else {
    ASSIGN_OR_RETURN(session_,
                     GrpcSession::Create(cluster.master, std::move(def)));
  }
  return absl::OkStatus();
}

absl::Status PipelineTrainer::StepFailed(const absl::Status& why) const {
  const Cluster& cluster = job_.cluster;
  std::vector<int> lost;
  if (!cluster.master.empty()) {
    const std::vector<bool> gone = GoneEach(cluster.workers);
    for (size_t t = 0; t < gone.size(); ++t) {
      if (gone[t]) lost.push_back(static_cast<int>(t));
    }
  }
  if (lost.empty()) return why;
  return absl::Status(
      why.code(),
      absl::StrCat("model-parallel: lost worker ", absl::StrJoin(lost, ", "),
                   " and the layers it held (", why.message(), "); ",
                   f_.checkpoint_dir.empty()
                       ? "give --checkpoint-dir to be able to resume"
                       : "start it again and run with --resume"));
}

absl::Status PipelineTrainer::Train() {
  const int64_t parts = f_.micro_batches;
  if (f_.batch % parts != 0) {
    return FlagError("--batch", absl::StrCat("the batch ", f_.batch,
                                             " must be a multiple of the ",
                                             parts, " micro-batches"));
  }
  if (job_.data.rows < f_.batch) {
    return FlagError("--batch",
                     absl::StrCat("the data has ", job_.data.rows,
                                  " rows, fewer than a batch of ", f_.batch));
  }
  RETURN_IF_ERROR(Build());
  std::vector<std::pair<std::string, Tensor>> shards;
  for (size_t c = 0; c < job_.data.names.size(); ++c) {
    shards.emplace_back(load_feeds_[c], job_.data.columns[c]);
  }
  RETURN_IF_ERROR(session_->Run(shards, {}, loads_).status());
  RETURN_IF_ERROR(session_->Run({}, {}, {init_}).status());
  const int64_t per = f_.batch / parts;
  const int64_t steps_per_epoch =
      std::max<int64_t>(1, job_.data.rows / f_.batch);
  const int64_t total = f_.steps > 0 ? f_.steps : f_.epochs * steps_per_epoch;
  int64_t step = 0, epoch = 0;
  if (f_.resume) {
    ASSIGN_OR_RETURN(epoch, checkpoints_->RestoreNewest(*session_, progress_));
    step = std::min(total, epoch * steps_per_epoch);
  }
  // The feeds of a step: each micro-batch's rows of the global batch, in
  // the order of one worker's shard in the other schemes (so one task
  // trains exactly as allreduce on one worker does).
  auto feeds = [&](const std::vector<int64_t>& order, int64_t in_epoch) {
    std::vector<std::pair<std::string, Tensor>> out;
    const Tensor rows = BatchRows(order, in_epoch, f_.batch);
    for (int64_t m = 0; m < parts; ++m) {
      absl::StatusOr<Tensor> part = rows.Slice(m * per, (m + 1) * per);
      out.emplace_back(MicroBatch(m) + "/rill_rows", *part);
    }
    return out;
  };
  // Bytes across tasks per step: each cut tensor of each micro-batch goes
  // forward, and its gradient (same size) back when it has one.
  int64_t step_bytes = 0;
  if (!job_.cluster.master.empty() && !cuts_.empty()) {
    ASSIGN_OR_RETURN(
        std::vector<Tensor> cut,
        session_->Run(feeds(ShardOrder(job_.data.rows, f_.seed, 0, 0), 0),
                      cuts_, {}));
    for (const Tensor& t : cut) {
      const bool differentiable =
          t.dtype() == DT_FLOAT || t.dtype() == DT_DOUBLE ||
          t.dtype() == DT_HALF || t.dtype() == DT_BFLOAT16;
      step_bytes += parts * static_cast<int64_t>(t.TotalBytes()) *
                    (differentiable ? 2 : 1);
    }
  }
  const auto start = Clock::now();
  int64_t examples = 0, bytes = 0;
  while (step < total) {
    const auto epoch_start = Clock::now();
    const std::vector<int64_t> order =
        ShardOrder(job_.data.rows, f_.seed, epoch, 0);
    double loss_sum = 0;
    int64_t in_epoch = 0;
    for (; in_epoch < steps_per_epoch && step < total; ++in_epoch, ++step) {
      absl::StatusOr<std::vector<Tensor>> losses =
          session_->Run(feeds(order, in_epoch), losses_, {train_});
      if (!losses.ok()) return StepFailed(losses.status());
      double loss = 0;
      for (const Tensor& l : *losses) loss += ScalarValue(l) / parts;
      loss_sum += loss;
      examples += f_.batch;
      bytes += step_bytes;
      if (job_.events != nullptr) {
        RETURN_IF_ERROR(job_.events->Scalar("loss", step + 1, loss));
      }
    }
    ++epoch;
    const double seconds =
        std::chrono::duration<double>(Clock::now() - epoch_start).count();
    // The epoch's evaluation and checkpoint run on the workers too: a
    // worker lost during them is reported as one lost during a step.
    absl::StatusOr<std::string> line =
        EpochLine(*session_, MicroBatch(0), f_, job_.eval, epoch, step,
                  loss_sum / std::max<int64_t>(1, in_epoch),
                  in_epoch * f_.batch / std::max(seconds, 1e-9), stages_used_,
                  job_.events.get(), step);
    if (!line.ok()) return StepFailed(line.status());
    Log(*line);
    if (checkpoints_ != nullptr) {
      absl::StatusOr<std::string> saved =
          checkpoints_->Save(*session_, epoch, step);
      if (!saved.ok()) return StepFailed(saved.status());
      Log("checkpoint " + *saved);
    }
  }
  TrainResult result{
      .workers = static_cast<int>(job_.cluster.workers.size()),
      .workers_at_end = static_cast<int>(job_.cluster.workers.size()),
      .steps = step,
      .epochs = epoch,
      .examples = examples,
      .bytes_sent = bytes,
      .seconds = std::chrono::duration<double>(Clock::now() - start).count()};
  RETURN_IF_ERROR(
      FinalFigures(*session_, MicroBatch(0), f_,
                   absl::StrCat(job_.loss_node, ":", job_.loss_index),
                   job_.data, job_.eval, &result));
  (void)session_->Close();
  PrintResult(f_, result, out_);
  return absl::OkStatus();
}

}  // namespace

absl::Status TrainModelParallel(TrainJob& job, std::ostream& out) {
  PipelineTrainer trainer(job, out);
  return trainer.Train();
}

}  // namespace rill::tools
