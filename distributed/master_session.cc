#include "distributed/master_session.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/blocking_counter.h"
#include "core/framework/rendezvous.h"
#include "core/framework/tensor_proto.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"
#include "runtime/device/device_name.h"
#include "runtime/placement/partition.h"
#include "runtime/placement/placer.h"
#include "runtime/session/step_graph.h"

namespace rill {

// A step's partitions, registered, and its feeds and fetches.
struct StepPlan {
  // One registered partition.
  struct Part {
    std::string task;
    std::string graph_handle;
    std::vector<std::pair<int, std::string>> feeds;    // (feed index, key)
    std::vector<std::pair<int, std::string>> fetches;  // (fetch index, key)
  };
  std::vector<Part> parts;
  std::vector<std::string> feeds;    // Sorted canonical names.
  std::vector<std::string> fetches;  // Sorted canonical names.
};

namespace {

using Part = StepPlan::Part;

// Where feeds come from and fetches go, in rendezvous keys: not a task of
// any cluster, so a worker keeps these keys in-process.
constexpr char kClientDevice[] =
    "/job:_rill_client/replica:0/task:0/device:CPU:0";

// Turns the step graph's _Arg (feed i) into a _Recv from the client and its
// _Retval (fetch i) into a _Send to the client, recording their keys.
absl::Status RewriteFeedsAndFetches(const std::string& device,
                                    uint64_t incarnation, const StepPlan& plan,
                                    ::tensorflow::GraphDef* part, Part* out) {
  for (auto& node : *part->mutable_node()) {
    if (node.op() != "_Arg" && node.op() != "_Retval") continue;
    int64_t index = 0;
    DataType dtype;
    RETURN_IF_ERROR(GetAttr(node.attr(), "index", &index));
    RETURN_IF_ERROR(GetAttr(node.attr(), "T", &dtype));
    const bool feed = node.op() == "_Arg";
    const std::string& tensor = feed ? plan.feeds[index] : plan.fetches[index];
    const std::string send = feed ? kClientDevice : device;
    const std::string recv = feed ? device : kClientDevice;
    const int64_t inc = feed ? 1 : static_cast<int64_t>(incarnation);
    node.clear_attr();
    auto& attrs = *node.mutable_attr();
    node.set_op(feed ? "_Recv" : "_Send");
    attrs[feed ? "tensor_type" : "T"] = MakeAttr(dtype);
    attrs["tensor_name"] = MakeAttr(tensor);
    attrs["send_device"] = MakeAttr(send);
    attrs["send_device_incarnation"] = MakeAttr(inc);
    attrs["recv_device"] = MakeAttr(recv);
    attrs["client_terminated"] = MakeAttr(true);
    const std::string key = Rendezvous::CreateKey(send, inc, recv, tensor);
    (feed ? out->feeds : out->fetches)
        .emplace_back(static_cast<int>(index), key);
  }
  return absl::OkStatus();
}

absl::Status CheckRunOptions(const ::tensorflow::RunOptions& options) {
  if (options.timeout_in_ms() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeout_in_ms must be >= 0, not ", options.timeout_in_ms()));
  }
  return absl::OkStatus();
}

}  // namespace

MasterSession::MasterSession(std::string handle, std::string task_name,
                             WorkerCacheInterface* workers,
                             const MasterOptions& options)
    : handle_(std::move(handle)),
      task_name_(std::move(task_name)),
      workers_(workers),
      options_(options),
      rng_(std::random_device{}()) {}

absl::StatusOr<std::shared_ptr<MasterSession>> MasterSession::Create(
    std::string handle, const ::tensorflow::CreateSessionRequest& request,
    std::string task_name, WorkerCacheInterface* workers,
    const MasterOptions& options) {
  std::shared_ptr<MasterSession> session(new MasterSession(
      std::move(handle), std::move(task_name), workers, options));
  session->timeout_ms_ = request.config().operation_timeout_in_ms();
  // As in TensorFlow: a node pinned to a device the cluster lacks is an
  // error unless the client allows soft placement.
  session->placement_.allow_soft_placement =
      request.config().allow_soft_placement();
  absl::MutexLock lock(&session->mu_);
  ASSIGN_OR_RETURN(session->graph_, ImportGraphDef(request.graph_def()));
  session->def_ = request.graph_def();
  RETURN_IF_ERROR(session->DiscoverDevices());
  return session;
}

absl::Status MasterSession::DiscoverDevices() {
  const std::string& local_task = task_name_;
  WorkerCacheInterface* const workers = workers_;
  const int64_t timeout_ms = options_.connect_timeout_ms;
  std::vector<std::string> tasks = {local_task};
  for (const std::string& t : workers->Tasks()) {
    if (t != local_task) tasks.push_back(t);
  }
  struct Call {
    ::tensorflow::GetStatusResponse response;
    absl::Status status;
  };
  std::vector<Call> calls(tasks.size());
  absl::BlockingCounter pending(static_cast<int>(tasks.size()));
  const ::tensorflow::GetStatusRequest request;
  // The others first: this task's own answers on this thread.
  for (size_t j = 0; j < tasks.size(); ++j) {
    const size_t i = (j + 1) % tasks.size();
    absl::StatusOr<WorkerInterface*> worker = workers->GetWorker(tasks[i]);
    if (!worker.ok()) {
      calls[i].status = worker.status();
      pending.DecrementCount();
      continue;
    }
    (*worker)->GetStatusAsync(
        request, &calls[i].response,
        {.timeout_ms = timeout_ms, .wait_for_ready = true},
        [&calls, &pending, i](absl::Status s) {
          calls[i].status = std::move(s);
          pending.DecrementCount();
        });
  }
  pending.Wait();
  devices_.clear();
  incarnations_.clear();
  unavailable_.clear();
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!calls[i].status.ok()) {
      unavailable_.push_back(std::string(calls[i].status.message()));
      continue;
    }
    for (const auto& attrs : calls[i].response.device_attributes()) {
      ASSIGN_OR_RETURN(DeviceName name, DeviceName::Parse(attrs.name()));
      if (name.TaskName() != tasks[i]) {
        return absl::InternalError(absl::StrCat(
            "task ", tasks[i], " reports device ", attrs.name(),
            " of another task: is the cluster spec the same everywhere?"));
      }
      devices_.push_back(std::make_unique<Device>(name, CpuAllocator()));
      incarnations_[attrs.name()] = attrs.incarnation();
    }
  }
  return absl::OkStatus();
}

absl::Status MasterSession::Extend(
    const ::tensorflow::ExtendSessionRequest& request,
    ::tensorflow::ExtendSessionResponse* response) {
  absl::MutexLock lock(&mu_);
  if (request.current_graph_version() != version_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the session's graph is at version ", version_, ", not ",
                     request.current_graph_version()));
  }
  ::tensorflow::GraphDef merged = def_;
  merged.MergeFrom(request.graph_def());
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ImportGraphDef(merged));
  def_ = std::move(merged);
  graph_ = std::move(graph);
  plans_.clear();
  response->set_new_graph_version(++version_);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const StepPlan>> MasterSession::PlanStep(
    const std::vector<std::string>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets) {
  const std::string key =
      absl::StrCat(absl::StrJoin(feeds, ","), "->", absl::StrJoin(fetches, ","),
                   "//", absl::StrJoin(targets, ","));
  if (stale_) {
    plans_.clear();
    RETURN_IF_ERROR(DiscoverDevices());
    stale_ = false;
  }
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;

  ASSIGN_OR_RETURN(std::unique_ptr<Graph> step,
                   BuildStepGraph(*graph_, feeds, fetches, targets));
  std::vector<Device*> devices;
  for (const auto& d : devices_) devices.push_back(d.get());
  absl::Status placed = PlaceGraph(step.get(), devices, placement_);
  if (!placed.ok() && !unavailable_.empty()) {
    // Most likely a node pinned to a task that is down: ask every task for
    // its devices again next time (it may be back, or only slow to answer).
    stale_ = true;
    return absl::UnavailableError(absl::StrCat(
        placed.message(), " (", absl::StrJoin(unavailable_, "; "), ")"));
  }
  RETURN_IF_ERROR(placed);
  ASSIGN_OR_RETURN(
      auto parts, PartitionGraph(*step, [this](const std::string& d) {
        auto it = incarnations_.find(d);
        return it == incarnations_.end() ? int64_t{1}
                                         : static_cast<int64_t>(it->second);
      }));
  auto plan = std::make_shared<StepPlan>();
  plan->feeds = feeds;
  plan->fetches = fetches;
  for (auto& [device, def] : parts) {
    Part part;
    ASSIGN_OR_RETURN(DeviceName name, DeviceName::Parse(device));
    part.task = name.TaskName();
    RETURN_IF_ERROR(RewriteFeedsAndFetches(device, incarnations_[device], *plan,
                                           &def, &part));
    ::tensorflow::RegisterGraphRequest request;
    request.set_session_handle(handle_);
    *request.mutable_graph_def() = std::move(def);
    ::tensorflow::RegisterGraphResponse response;
    ASSIGN_OR_RETURN(WorkerInterface * worker, workers_->GetWorker(part.task));
    RETURN_IF_ERROR(worker->RegisterGraph(
        request, &response, {.timeout_ms = options_.connect_timeout_ms}));
    part.graph_handle = response.graph_handle();
    registered_.emplace_back(part.task, part.graph_handle);
    plan->parts.push_back(std::move(part));
  }
  plans_[key] = plan;
  return std::shared_ptr<const StepPlan>(plan);
}

void MasterSession::CleanupStep(const StepPlan& plan, int64_t step_id) {
  absl::flat_hash_set<std::string> tasks;
  for (const Part& p : plan.parts) tasks.insert(p.task);
  for (const std::string& task : tasks) {
    absl::StatusOr<WorkerInterface*> worker = workers_->GetWorker(task);
    if (!worker.ok()) continue;
    struct Call {
      ::tensorflow::CleanupGraphRequest request;
      ::tensorflow::CleanupGraphResponse response;
    };
    auto call = std::make_shared<Call>();
    call->request.set_step_id(step_id);
    (*worker)->CleanupGraphAsync(call->request, &call->response,
                                 {.timeout_ms = 5000}, [call](absl::Status) {});
  }
}

absl::Status MasterSession::RunStep(const ::tensorflow::RunStepRequest& request,
                                    ::tensorflow::RunStepResponse* response,
                                    std::function<void()>* after_reply,
                                    const OnClientCancel& on_cancel) {
  if (!request.partial_run_handle().empty()) {
    return absl::UnimplementedError("partial runs are not supported");
  }
  RETURN_IF_ERROR(CheckRunOptions(request.options()));
  const int64_t timeout_ms = request.options().timeout_in_ms() > 0
                                 ? request.options().timeout_in_ms()
                                 : timeout_ms_;
  // Canonical names; each feed's proto by name.
  absl::flat_hash_map<std::string, const ::tensorflow::TensorProto*> fed;
  std::vector<std::string> feed_names, fetch_names, targets;
  for (const auto& feed : request.feed()) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(feed.name(), "feed"));
    const std::string c = Canonical(t);
    RETURN_IF_ERROR(
        ValidateTensorProto(feed.tensor(), options_.max_tensor_bytes));
    if (!fed.emplace(c, &feed.tensor()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", feed.name(), "' is fed more than once"));
    }
    feed_names.push_back(c);
  }
  for (const std::string& f : request.fetch()) {
    ASSIGN_OR_RETURN(auto t, ParseTensorName(f, "fetch"));
    fetch_names.push_back(Canonical(t));
  }
  for (const std::string& t : request.target()) targets.push_back(t);

  std::shared_ptr<const StepPlan> plan;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(
        plan, PlanStep(SortedUnique(feed_names), SortedUnique(fetch_names),
                       SortedUnique(targets)));
  }
  int64_t step_id;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return absl::CancelledError(
          absl::StrCat("session '", handle_, "' is closed"));
    }
    step_id = static_cast<int64_t>(rng_() >> 1);
    running_[step_id] = Running{plan, absl::OkStatus()};
  }
  if (on_cancel != nullptr) {
    on_cancel([self = shared_from_this(), step_id] {
      self->CancelStep(step_id, absl::CancelledError(
                                    "the step was cancelled by its client"));
    });
  }

  // Every partition at once; the first failure ends the step everywhere.
  const size_t n = plan->parts.size();
  std::vector<::tensorflow::RunGraphRequest> requests(n);
  std::vector<::tensorflow::RunGraphResponse> responses(n);
  std::vector<absl::Status> statuses(n);
  absl::Mutex first_mu;
  bool failed = false;
  auto finished = [&](size_t i, absl::Status s) {
    statuses[i] = s;
    if (s.ok()) return;
    {
      absl::MutexLock lock(&first_mu);
      if (failed) return;
      failed = true;
    }
    CleanupStep(*plan, step_id);
  };
  std::vector<size_t> order, local_parts;
  for (size_t i = 0; i < n; ++i) {
    const Part& part = plan->parts[i];
    auto& req = requests[i];
    req.set_session_handle(handle_);
    req.set_graph_handle(part.graph_handle);
    req.set_step_id(step_id);
    if (request.options().trace_level() != ::tensorflow::RunOptions::NO_TRACE) {
      req.mutable_exec_opts()->set_record_timeline(true);
    }
    for (const auto& [index, key] : part.feeds) {
      auto* send = req.add_send();
      send->set_name(key);
      *send->mutable_tensor() = *fed[plan->feeds[index]];
    }
    for (const auto& [index, key] : part.fetches) req.add_recv_key(key);
    (part.task == task_name_ ? local_parts : order).push_back(i);
  }
  // The other tasks' partitions first: this task's own runs on this
  // thread, until it ends.
  order.insert(order.end(), local_parts.begin(), local_parts.end());
  absl::BlockingCounter remaining(static_cast<int>(order.size()));
  for (size_t i : order) {
    absl::StatusOr<WorkerInterface*> worker =
        workers_->GetWorker(plan->parts[i].task);
    if (!worker.ok()) {
      finished(i, worker.status());
      remaining.DecrementCount();
      continue;
    }
    (*worker)->RunGraphAsync(requests[i], &responses[i],
                             {.timeout_ms = timeout_ms},
                             [&, i](absl::Status s) {
                               finished(i, std::move(s));
                               remaining.DecrementCount();
                             });
  }
  remaining.Wait();
  absl::Status cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = running_[step_id].cancelled;
    running_.erase(step_id);
  }
  if (!cancelled.ok()) return cancelled;
  if (!failed) {
    // Holds the session until the cleanup has gone out.
    auto cleanup = [self = shared_from_this(), plan, step_id] {
      self->CleanupStep(*plan, step_id);
    };
    if (after_reply != nullptr) {
      *after_reply = std::move(cleanup);
    } else {
      cleanup();
    }
  }

  // The cause, not the aborts it made on the other tasks.
  absl::Status status;
  for (const absl::Status& s : statuses) {
    // (The aborts and cancellations that ending the step caused elsewhere
    // lose to any other error.)
    if (!s.ok() &&
        (status.ok() || absl::IsAborted(status) || absl::IsCancelled(status))) {
      status = s;
    }
  }
  if (absl::IsUnavailable(status) || absl::IsNotFound(status) ||
      absl::IsAborted(status)) {
    // A task may have died or restarted (its graphs and incarnations are
    // gone): plan the next step against what the cluster is then.
    absl::MutexLock lock(&mu_);
    stale_ = true;
  }
  RETURN_IF_ERROR(status);
  absl::flat_hash_map<std::string, ::tensorflow::TensorProto*> received;
  for (auto& r : responses) {
    for (auto& t : *r.mutable_recv()) received[t.name()] = t.mutable_tensor();
  }
  absl::flat_hash_map<std::string, const ::tensorflow::TensorProto*> by_fetch;
  for (const Part& part : plan->parts) {
    for (const auto& [index, key] : part.fetches) {
      auto it = received.find(key);
      if (it == received.end()) {
        return absl::InternalError(absl::StrCat("task ", part.task,
                                                " did not return '",
                                                plan->fetches[index], "'"));
      }
      by_fetch[plan->fetches[index]] = it->second;
    }
  }
  // A traced step: every partition's node timings, device by device.
  for (auto& r : responses) {
    for (auto& dev : *r.mutable_step_stats()->mutable_dev_stats()) {
      response->mutable_metadata()->mutable_step_stats()->add_dev_stats()->Swap(
          &dev);
    }
  }
  for (int i = 0; i < request.fetch_size(); ++i) {
    auto* out = response->add_tensor();
    out->set_name(request.fetch(i));
    *out->mutable_tensor() = *by_fetch[fetch_names[i]];
  }
  return absl::OkStatus();
}

void MasterSession::CancelStep(int64_t step_id, const absl::Status& why) {
  std::shared_ptr<const StepPlan> plan;
  {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(step_id);
    if (it == running_.end() || !it->second.cancelled.ok()) return;
    it->second.cancelled = why;
    plan = it->second.plan;
  }
  CleanupStep(*plan, step_id);
}

void MasterSession::Close() {
  std::vector<int64_t> in_flight;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (const auto& [id, step] : running_) in_flight.push_back(id);
  }
  for (int64_t id : in_flight) {
    CancelStep(id, absl::CancelledError(
                       "the step was cancelled: its session was closed"));
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [task, handle] : registered_) {
    ::tensorflow::DeregisterGraphRequest dereg;
    dereg.set_session_handle(handle_);
    dereg.set_graph_handle(handle);
    absl::StatusOr<WorkerInterface*> worker = workers_->GetWorker(task);
    if (!worker.ok()) continue;
    ::tensorflow::DeregisterGraphResponse ignored;
    (void)(*worker)->DeregisterGraph(dereg, &ignored, {.timeout_ms = 2000});
  }
}

absl::Status MasterSession::MakeCallable(
    const ::tensorflow::MakeCallableRequest& request,
    ::tensorflow::MakeCallableResponse* response) {
  const ::tensorflow::CallableOptions& options = request.options();
  if (options.tensor_connection_size() > 0) {
    return absl::UnimplementedError(
        "callables with tensor_connection are not supported");
  }
  // Names are checked now; the step itself is planned on its first run.
  for (const std::string& f : options.feed()) {
    RETURN_IF_ERROR(ParseTensorName(f, "feed").status());
  }
  for (const std::string& f : options.fetch()) {
    RETURN_IF_ERROR(ParseTensorName(f, "fetch").status());
  }
  RETURN_IF_ERROR(CheckRunOptions(options.run_options()));
  absl::MutexLock lock(&mu_);
  const int64_t handle = next_callable_++;
  callables_[handle] = options;
  response->set_handle(handle);
  return absl::OkStatus();
}

absl::Status MasterSession::RunCallable(
    const ::tensorflow::RunCallableRequest& request,
    ::tensorflow::RunCallableResponse* response,
    std::function<void()>* after_reply, const OnClientCancel& on_cancel) {
  ::tensorflow::CallableOptions options;
  {
    absl::MutexLock lock(&mu_);
    auto it = callables_.find(request.handle());
    if (it == callables_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no callable ", request.handle(), " in session '",
          request.session_handle(), "' (released, or never made)"));
    }
    options = it->second;
  }
  if (request.feed_size() != options.feed_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("callable ", request.handle(), " takes ",
                     options.feed_size(), " feeds, not ", request.feed_size()));
  }
  // The same step as RunStep with these names.
  ::tensorflow::RunStepRequest step;
  step.set_session_handle(request.session_handle());
  for (int i = 0; i < options.feed_size(); ++i) {
    auto* feed = step.add_feed();
    feed->set_name(options.feed(i));
    *feed->mutable_tensor() = request.feed(i);
  }
  for (const std::string& f : options.fetch()) step.add_fetch(f);
  for (const std::string& t : options.target()) step.add_target(t);
  *step.mutable_options() = options.run_options();
  ::tensorflow::RunStepResponse ran;
  RETURN_IF_ERROR(RunStep(step, &ran, after_reply, on_cancel));
  for (auto& t : *ran.mutable_tensor()) {
    response->add_fetch()->Swap(t.mutable_tensor());
  }
  response->mutable_metadata()->Swap(ran.mutable_metadata());
  return absl::OkStatus();
}

absl::Status MasterSession::ReleaseCallable(
    const ::tensorflow::ReleaseCallableRequest& request) {
  absl::MutexLock lock(&mu_);
  if (callables_.erase(request.handle()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no callable ", request.handle(), " in session '",
                     request.session_handle(), "' to release"));
  }
  return absl::OkStatus();
}

}  // namespace rill
