#include "runtime/session/session.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"
#include "oneapi/tbb/task_arena.h"
#include "runtime/executor/step_runner.h"
#include "runtime/placement/partition.h"
#include "runtime/placement/placer.h"
#include "runtime/rendezvous/local_rendezvous.h"
#include "runtime/session/step_graph.h"

namespace rill {
namespace {

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
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> pruned,
                   BuildStepGraph(*graph_, feeds, fetches, targets));
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

  LocalRendezvous rendezvous;
  std::vector<const Executor*> executors;
  for (const auto& e : step->executors) executors.push_back(e.get());
  StepRun run;
  run.step_id = next_step_id_.fetch_add(1);
  run.call_frame = &frame;
  run.rendezvous = &rendezvous;
  run.collectives = &collectives_;
  run.timeout_ms = timeout_ms;
  // One stats list per executor: they append concurrently.
  std::vector<std::vector<NodeExecStats>> stats(step->executors.size());
  if (metadata != nullptr) run.stats = &stats;
  const absl::Status status = RunExecutors(arena_.get(), executors, run);
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
