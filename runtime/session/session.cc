#include "runtime/session/session.h"

#include <algorithm>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"
#include "oneapi/tbb/task_arena.h"
#include "oneapi/tbb/task_group.h"
#include "runtime/placement/partition.h"
#include "runtime/placement/placer.h"
#include "runtime/rendezvous/local_rendezvous.h"

namespace rill {
namespace {

// "x" -> ("x", 0); "x:2" -> ("x", 2). INVALID_ARGUMENT for "^x" or junk.
absl::StatusOr<std::pair<std::string, int>> ParseTensorName(
    const std::string& name, absl::string_view what) {
  absl::StatusOr<InputRef> ref = ParseInputRef(name);
  if (!ref.ok() || ref->index == kControlSlot) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", name, "' is not a tensor name (node or node:i)"));
  }
  return std::make_pair(std::string(ref->node), ref->index);
}

std::string Canonical(const std::pair<std::string, int>& t) {
  return absl::StrCat(t.first, ":", t.second);
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// The step's feeds and fetches, indexed as the _Arg and _Retval nodes are.
class StepCallFrame : public CallFrame {
 public:
  StepCallFrame(std::vector<Tensor> args, int num_retvals)
      : args_(std::move(args)), retvals_(num_retvals) {}

  absl::StatusOr<Tensor> GetArg(int index) const override {
    if (index < 0 || index >= static_cast<int>(args_.size())) {
      return absl::InternalError(absl::StrCat("no argument ", index));
    }
    return args_[index];
  }
  absl::Status SetRetval(int index, const Tensor& value) override {
    absl::MutexLock lock(&mu_);
    if (index < 0 || index >= static_cast<int>(retvals_.size())) {
      return absl::InternalError(absl::StrCat("no return value ", index));
    }
    retvals_[index] = value;
    return absl::OkStatus();
  }
  std::vector<Tensor> TakeRetvals() {
    absl::MutexLock lock(&mu_);
    return std::move(retvals_);
  }

 private:
  const std::vector<Tensor> args_;
  absl::Mutex mu_;
  std::vector<Tensor> retvals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

struct Session::Step {
  std::vector<std::unique_ptr<Executor>> executors;  // One per partition.
  std::vector<std::string> feeds;    // Sorted canonical names = _Arg order.
  std::vector<std::string> fetches;  // Sorted canonical names = _Retval order.
};

Session::Session(std::vector<std::unique_ptr<Device>> devices,
                 const SessionOptions& options)
    : devices_(std::move(devices)),
      allow_soft_placement_(options.allow_soft_placement),
      default_timeout_ms_(options.operation_timeout_in_ms) {
  int num_threads = options.num_threads;
  if (num_threads <= 0) {
    num_threads = std::max(1u, std::thread::hardware_concurrency());
  }
  arena_ = std::make_unique<oneapi::tbb::task_arena>(num_threads);
}

Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Create(
    ::tensorflow::GraphDef graph, const SessionOptions& options) {
  if (options.num_cpu_devices < 1 || options.num_cpu_devices > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a session needs 1 to 64 CPU devices, not ", options.num_cpu_devices));
  }
  std::vector<std::unique_ptr<Device>> devices;
  for (int i = 0; i < options.num_cpu_devices; ++i) {
    devices.push_back(NewCpuDevice("localhost", 0, 0, i));
  }
  std::unique_ptr<Session> s(new Session(std::move(devices), options));
  RETURN_IF_ERROR(s->Extend(std::move(graph)));
  return s;
}

absl::Status Session::Extend(::tensorflow::GraphDef more) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("session is closed");
  ::tensorflow::GraphDef merged = graph_def_;
  merged.MergeFrom(more);
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ImportGraphDef(merged));
  graph_def_ = std::move(merged);
  graph_ = std::move(graph);
  cache_.clear();  // Resources stay on the devices; executors are rebuilt.
  return absl::OkStatus();
}

absl::Status Session::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  cache_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Session::Step>> Session::BuildStep(
    const std::vector<std::string>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets) const {
  const Graph& g = *graph_;
  // (node, output) -> _Arg index.
  absl::flat_hash_map<std::pair<const Node*, int>, int> fed;
  for (size_t i = 0; i < feeds.size(); ++i) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(feeds[i], "feed"));
    const Node* n = g.FindNode(t.first);
    if (n == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("feed '", feeds[i], "': no node '", t.first, "'"));
    }
    if (t.second >= n->num_outputs()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", feeds[i], "': node '", t.first, "' has ",
                       n->num_outputs(), " outputs"));
    }
    fed[{n, t.second}] = static_cast<int>(i);
  }
  std::vector<std::pair<const Node*, int>> fetch_tensors;
  std::vector<const Node*> stack;
  for (const std::string& f : fetches) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(f, "fetch"));
    const Node* n = g.FindNode(t.first);
    if (n == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("fetch '", f, "': no node '", t.first, "'"));
    }
    if (t.second >= n->num_outputs()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fetch '", f, "': node '", t.first, "' has ",
                       n->num_outputs(), " outputs"));
    }
    fetch_tensors.emplace_back(n, t.second);
    if (!fed.contains({n, t.second})) stack.push_back(n);
  }
  for (const std::string& name : targets) {
    const Node* n = g.FindNode(name);
    if (n == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("target '", name, "': no such node"));
    }
    stack.push_back(n);
  }

  // Prune: everything the fetches and targets need, stopping at feeds.
  std::vector<bool> keep(g.num_nodes(), false);
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (keep[n->id()]) continue;
    keep[n->id()] = true;
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      if (!fed.contains({e->src, e->src_output})) stack.push_back(e->src);
    }
    for (const Edge* e : n->control_in_edges()) stack.push_back(e->src);
  }

  // A prefix no node of the graph uses, for the _Arg/_Retval names.
  std::string prefix = "rill";
  auto prefix_taken = [&] {
    for (size_t i = 0; i < std::max(feeds.size(), fetch_tensors.size()); ++i) {
      if (g.FindNode(absl::StrCat(prefix, "_arg_", i)) != nullptr ||
          g.FindNode(absl::StrCat(prefix, "_retval_", i)) != nullptr) {
        return true;
      }
    }
    return false;
  };
  while (prefix_taken()) prefix += "_";
  auto arg_name = [&](int i) { return absl::StrCat(prefix, "_arg_", i); };

  ::tensorflow::GraphDef def;
  *def.mutable_versions() = g.versions();
  for (const Node* n : g.nodes()) {
    if (!keep[n->id()]) continue;
    ::tensorflow::NodeDef* nd = def.add_node();
    *nd = n->def();
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      auto it = fed.find({e->src, e->src_output});
      nd->add_input(it != fed.end()
                        ? arg_name(it->second)
                        : absl::StrCat(e->src->name(), ":", e->src_output));
    }
    for (const Edge* e : n->control_in_edges()) {
      nd->add_input(absl::StrCat("^", e->src->name()));
    }
  }
  for (const auto& [tensor, index] : fed) {
    ::tensorflow::NodeDef* nd = def.add_node();
    nd->set_name(arg_name(index));
    nd->set_op("_Arg");
    (*nd->mutable_attr())["T"] =
        MakeAttr(BaseType(tensor.first->output_type(tensor.second)));
    (*nd->mutable_attr())["index"] = MakeAttr(index);
  }
  for (size_t i = 0; i < fetch_tensors.size(); ++i) {
    const auto& [n, slot] = fetch_tensors[i];
    ::tensorflow::NodeDef* nd = def.add_node();
    nd->set_name(absl::StrCat(prefix, "_retval_", i));
    nd->set_op("_Retval");
    auto it = fed.find({n, slot});
    nd->add_input(it != fed.end() ? arg_name(it->second)
                                  : absl::StrCat(n->name(), ":", slot));
    (*nd->mutable_attr())["T"] = MakeAttr(BaseType(n->output_type(slot)));
    (*nd->mutable_attr())["index"] = MakeAttr(static_cast<int>(i));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> pruned,
                   ImportGraphDef(std::move(def)));
  std::vector<Device*> devices;
  for (const auto& d : devices_) devices.push_back(d.get());
  PlacerOptions placer_options;
  placer_options.allow_soft_placement = allow_soft_placement_;
  RETURN_IF_ERROR(PlaceGraph(pruned.get(), devices, placer_options));
  auto step = std::make_shared<Step>();
  if (devices.size() == 1) {
    ASSIGN_OR_RETURN(auto executor,
                     Executor::Create(std::move(pruned), devices[0]));
    step->executors.push_back(std::move(executor));
  } else {
    ASSIGN_OR_RETURN(auto parts, PartitionGraph(*pruned));
    for (auto& [device_name, part] : parts) {
      Device* device = nullptr;
      for (Device* d : devices) {
        if (d->name() == device_name) device = d;
      }
      ASSIGN_OR_RETURN(std::unique_ptr<Graph> g,
                       ImportGraphDef(std::move(part)));
      ASSIGN_OR_RETURN(auto executor, Executor::Create(std::move(g), device));
      step->executors.push_back(std::move(executor));
    }
  }
  step->feeds = feeds;
  step->fetches = fetches;
  return step;
}

absl::StatusOr<std::shared_ptr<const Session::Step>> Session::GetStep(
    const std::vector<std::string>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets) {
  const std::string key =
      absl::StrCat(absl::StrJoin(feeds, ","), "->", absl::StrJoin(fetches, ","),
                   "//", absl::StrJoin(targets, ","));
  {
    absl::ReaderMutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("session is closed");
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  absl::MutexLock lock(&mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  ASSIGN_OR_RETURN(std::shared_ptr<const Step> step,
                   BuildStep(feeds, fetches, targets));
  cache_[key] = step;
  return step;
}

absl::StatusOr<std::vector<Tensor>> Session::Run(
    const std::vector<std::pair<std::string, Tensor>>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets, RunMetadata* metadata) {
  return Run(RunOptions(), feeds, fetches, targets, metadata);
}

absl::StatusOr<std::vector<Tensor>> Session::Run(
    const RunOptions& options,
    const std::vector<std::pair<std::string, Tensor>>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets, RunMetadata* metadata) {
  const int64_t timeout_ms =
      options.timeout_in_ms > 0 ? options.timeout_in_ms : default_timeout_ms_;
  if (options.timeout_in_ms < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeout_in_ms must be >= 0, not ", options.timeout_in_ms));
  }
  // Canonical, sorted names make the cache key independent of order.
  absl::flat_hash_map<std::string, const Tensor*> feed_values;
  std::vector<std::string> feed_names;
  for (const auto& [name, tensor] : feeds) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(name, "feed"));
    const std::string c = Canonical(t);
    if (!feed_values.emplace(c, &tensor).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "' is fed more than once"));
    }
    if (!tensor.IsInitialized()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' is an uninitialized tensor"));
    }
    feed_names.push_back(c);
  }
  std::vector<std::string> fetch_names;
  for (const std::string& f : fetches) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(f, "fetch"));
    fetch_names.push_back(Canonical(t));
  }
  const std::vector<std::string> sorted_feeds = SortedUnique(feed_names);
  const std::vector<std::string> sorted_fetches = SortedUnique(fetch_names);
  ASSIGN_OR_RETURN(
      std::shared_ptr<const Step> step,
      GetStep(sorted_feeds, sorted_fetches, SortedUnique(targets)));

  std::vector<Tensor> args;
  for (const std::string& f : step->feeds) args.push_back(*feed_values[f]);
  StepCallFrame frame(std::move(args), static_cast<int>(step->fetches.size()));

  oneapi::tbb::task_group group;
  LocalRendezvous rendezvous;
  Executor::Args exec_args;
  exec_args.step_id = next_step_id_.fetch_add(1);
  exec_args.call_frame = &frame;
  exec_args.rendezvous = &rendezvous;
  StepCancellation cancellation;
  exec_args.cancellation = &cancellation;
  exec_args.runner = [this, &group](std::function<void()> fn) {
    arena_->execute([&] { group.run(std::move(fn)); });
  };
  // One stats list per executor: they append concurrently.
  std::vector<std::vector<NodeExecStats>> stats(step->executors.size());
  absl::Mutex status_mu;
  absl::Status status;
  for (size_t e = 0; e < step->executors.size(); ++e) {
    if (metadata != nullptr) exec_args.stats = &stats[e];
    step->executors[e]->RunAsync(exec_args, [&](absl::Status s) {
      absl::MutexLock lock(&status_mu);
      // The first error is the cause; the others are its aborts.
      if (status.ok()) status = s;
    });
  }
  // A deadline is watched from a thread of its own: the pool's threads are
  // all busy running the step.
  absl::Notification step_done;
  std::thread watchdog;
  if (timeout_ms > 0) {
    watchdog = std::thread([&] {
      if (step_done.WaitForNotificationWithTimeout(
              absl::Milliseconds(timeout_ms))) {
        return;
      }
      const absl::Status late = absl::DeadlineExceededError(absl::StrCat(
          "the step did not finish within its timeout of ", timeout_ms, " ms"));
      cancellation.Cancel(late);
      rendezvous.StartAbort(late);
    });
  }
  arena_->execute([&] { group.wait(); });
  step_done.Notify();
  if (watchdog.joinable()) watchdog.join();
  RETURN_IF_ERROR(status);
  if (metadata != nullptr) {
    metadata->step_stats.clear();
    for (auto& per_executor : stats) {
      for (auto& entry : per_executor) {
        metadata->step_stats.push_back(std::move(entry));
      }
    }
  }

  std::vector<Tensor> retvals = frame.TakeRetvals();
  std::vector<Tensor> out;
  out.reserve(fetch_names.size());
  for (const std::string& f : fetch_names) {
    const size_t i =
        std::lower_bound(step->fetches.begin(), step->fetches.end(), f) -
        step->fetches.begin();
    if (!retvals[i].IsInitialized()) {
      // Its _Retval was dead, so never ran.
      return absl::InvalidArgumentError(
          absl::StrCat("fetch '", f,
                       "' has no value: it is dead (it depends on the "
                       "untaken branch of a Switch)"));
    }
    out.push_back(retvals[i]);
  }
  return out;
}

}  // namespace rill
