#include "distributed/master.h"

#include <chrono>
#include <thread>

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
namespace {

// Where feeds come from and fetches go, in rendezvous keys: not a task of
// any cluster, so a worker keeps these keys in-process.
constexpr char kClientDevice[] =
    "/job:_rill_client/replica:0/task:0/device:CPU:0";

// One registered partition of a step plan.
struct Part {
  std::string task;
  std::string graph_handle;
  std::vector<std::pair<int, std::string>> feeds;    // (feed index, key)
  std::vector<std::pair<int, std::string>> fetches;  // (fetch index, key)
};

struct StepPlan {
  std::vector<Part> parts;
  std::vector<std::string> feeds;    // Sorted canonical names.
  std::vector<std::string> fetches;  // Sorted canonical names.
};

}  // namespace

class MasterSession {
 public:
  std::string handle;
  absl::Mutex mu;
  ::tensorflow::GraphDef def ABSL_GUARDED_BY(mu);
  std::unique_ptr<Graph> graph ABSL_GUARDED_BY(mu);
  int64_t version ABSL_GUARDED_BY(mu) = 0;
  // From the session's ConfigProto.
  int64_t timeout_ms = 0;
  PlacerOptions placement;
  // Stand-ins for every device of the cluster, this task's first: the
  // placer only asks them for names and kernels.
  std::vector<std::unique_ptr<Device>> devices ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, uint64_t> incarnations ABSL_GUARDED_BY(mu);
  // Why each task that did not answer device discovery is missing.
  std::vector<std::string> unavailable ABSL_GUARDED_BY(mu);
  // Set when a step failed in a way that may mean a task restarted or
  // died: the next step rediscovers the devices (and their incarnations)
  // and plans anew.
  bool stale ABSL_GUARDED_BY(mu) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<const StepPlan>> plans
      ABSL_GUARDED_BY(mu);
  // Every (task, graph handle) registered, to deregister on close.
  std::vector<std::pair<std::string, std::string>> registered
      ABSL_GUARDED_BY(mu);
  // MakeCallable's handles.
  absl::flat_hash_map<int64_t, ::tensorflow::CallableOptions> callables
      ABSL_GUARDED_BY(mu);
  int64_t next_callable ABSL_GUARDED_BY(mu) = 0;
};

namespace {

// The devices of every task: this task's from its worker, the others' by
// GetStatus, asked of all at once. A task that does not answer within the
// timeout is left out (a dead task must not stop sessions that do not use
// it) and noted, so that a step that needs it says which task is missing.
absl::Status DiscoverDevices(const std::string& local_task,
                             WorkerCacheInterface* workers, int64_t timeout_ms,
                             MasterSession* session)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session->mu) {
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
  session->devices.clear();
  session->incarnations.clear();
  session->unavailable.clear();
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!calls[i].status.ok()) {
      session->unavailable.push_back(std::string(calls[i].status.message()));
      continue;
    }
    for (const auto& attrs : calls[i].response.device_attributes()) {
      ASSIGN_OR_RETURN(DeviceName name, DeviceName::Parse(attrs.name()));
      if (name.TaskName() != tasks[i]) {
        return absl::InternalError(absl::StrCat(
            "task ", tasks[i], " reports device ", attrs.name(),
            " of another task: is the cluster spec the same everywhere?"));
      }
      session->devices.push_back(
          std::make_unique<Device>(name, CpuAllocator()));
      session->incarnations[attrs.name()] = attrs.incarnation();
    }
  }
  return absl::OkStatus();
}

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

}  // namespace

Master::Master(std::string task_name, WorkerCacheInterface* workers,
               MasterOptions options)
    : task_name_(std::move(task_name)),
      workers_(workers),
      options_(options),
      rng_(std::random_device{}()) {}

Master::~Master() = default;

absl::StatusOr<std::shared_ptr<MasterSession>> Master::Find(
    const std::string& handle) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no session '", handle,
                     "' on this master (closed, or the server "
                     "restarted)"));
  }
  return it->second;
}

absl::Status Master::CreateSession(
    const ::tensorflow::CreateSessionRequest& request,
    ::tensorflow::CreateSessionResponse* response) {
  auto session = std::make_shared<MasterSession>();
  {
    absl::MutexLock lock(&session->mu);
    ASSIGN_OR_RETURN(session->graph, ImportGraphDef(request.graph_def()));
    session->def = request.graph_def();
    session->timeout_ms = request.config().operation_timeout_in_ms();
    // As in TensorFlow: a node pinned to a device the cluster lacks is an
    // error unless the client allows soft placement.
    session->placement.allow_soft_placement =
        request.config().allow_soft_placement();
    RETURN_IF_ERROR(DiscoverDevices(
        task_name_, workers_, options_.connect_timeout_ms, session.get()));
  }
  absl::MutexLock lock(&mu_);
  session->handle = absl::StrCat("session_", absl::Hex(rng_()));
  sessions_[session->handle] = session;
  response->set_session_handle(session->handle);
  response->set_graph_version(0);
  return absl::OkStatus();
}

absl::Status Master::ExtendSession(
    const ::tensorflow::ExtendSessionRequest& request,
    ::tensorflow::ExtendSessionResponse* response) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  absl::MutexLock lock(&session->mu);
  if (request.current_graph_version() != session->version) {
    return absl::FailedPreconditionError(
        absl::StrCat("the session's graph is at version ", session->version,
                     ", not ", request.current_graph_version()));
  }
  ::tensorflow::GraphDef merged = session->def;
  merged.MergeFrom(request.graph_def());
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ImportGraphDef(merged));
  session->def = std::move(merged);
  session->graph = std::move(graph);
  session->plans.clear();
  response->set_new_graph_version(++session->version);
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::shared_ptr<const StepPlan>> PlanStep(
    MasterSession* session, const std::string& local_task,
    WorkerCacheInterface* workers, int64_t timeout_ms,
    const std::vector<std::string>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session->mu) {
  const std::string key =
      absl::StrCat(absl::StrJoin(feeds, ","), "->", absl::StrJoin(fetches, ","),
                   "//", absl::StrJoin(targets, ","));
  if (session->stale) {
    session->plans.clear();
    RETURN_IF_ERROR(DiscoverDevices(local_task, workers, timeout_ms, session));
    session->stale = false;
  }
  auto it = session->plans.find(key);
  if (it != session->plans.end()) return it->second;

  ASSIGN_OR_RETURN(std::unique_ptr<Graph> step,
                   BuildStepGraph(*session->graph, feeds, fetches, targets));
  std::vector<Device*> devices;
  for (const auto& d : session->devices) devices.push_back(d.get());
  absl::Status placed = PlaceGraph(step.get(), devices, session->placement);
  if (!placed.ok() && !session->unavailable.empty()) {
    // Most likely a node pinned to a task that is down.
    return absl::UnavailableError(
        absl::StrCat(placed.message(), " (",
                     absl::StrJoin(session->unavailable, "; "), ")"));
  }
  RETURN_IF_ERROR(placed);
  ASSIGN_OR_RETURN(auto parts,
                   PartitionGraph(*step, [session](const std::string& d) {
                     auto it = session->incarnations.find(d);
                     return it == session->incarnations.end()
                                ? int64_t{1}
                                : static_cast<int64_t>(it->second);
                   }));
  auto plan = std::make_shared<StepPlan>();
  plan->feeds = feeds;
  plan->fetches = fetches;
  for (auto& [device, def] : parts) {
    Part part;
    ASSIGN_OR_RETURN(DeviceName name, DeviceName::Parse(device));
    part.task = name.TaskName();
    RETURN_IF_ERROR(RewriteFeedsAndFetches(
        device, session->incarnations[device], *plan, &def, &part));
    ::tensorflow::RegisterGraphRequest request;
    request.set_session_handle(session->handle);
    *request.mutable_graph_def() = std::move(def);
    ::tensorflow::RegisterGraphResponse response;
    ASSIGN_OR_RETURN(WorkerInterface * worker, workers->GetWorker(part.task));
    RETURN_IF_ERROR(
        worker->RegisterGraph(request, &response, {.timeout_ms = timeout_ms}));
    part.graph_handle = response.graph_handle();
    session->registered.emplace_back(part.task, part.graph_handle);
    plan->parts.push_back(std::move(part));
  }
  session->plans[key] = plan;
  return std::shared_ptr<const StepPlan>(plan);
}

absl::Status CheckRunOptions(const ::tensorflow::RunOptions& options) {
  if (options.timeout_in_ms() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeout_in_ms must be >= 0, not ", options.timeout_in_ms()));
  }
  return absl::OkStatus();
}

// Ends a step on every task of the plan, without waiting for the answers.
void CleanupStep(const StepPlan& plan, int64_t step_id,
                 WorkerCacheInterface* workers) {
  absl::flat_hash_set<std::string> tasks;
  for (const Part& p : plan.parts) tasks.insert(p.task);
  for (const std::string& task : tasks) {
    absl::StatusOr<WorkerInterface*> worker = workers->GetWorker(task);
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

}  // namespace

absl::Status Master::RunStep(const ::tensorflow::RunStepRequest& request,
                             ::tensorflow::RunStepResponse* response,
                             std::function<void()>* after_reply) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  if (!request.partial_run_handle().empty()) {
    return absl::UnimplementedError("partial runs are not supported");
  }
  RETURN_IF_ERROR(CheckRunOptions(request.options()));
  const int64_t timeout_ms = request.options().timeout_in_ms() > 0
                                 ? request.options().timeout_in_ms()
                                 : session->timeout_ms;
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
    absl::MutexLock lock(&session->mu);
    ASSIGN_OR_RETURN(
        plan, PlanStep(session.get(), task_name_, workers_,
                       options_.connect_timeout_ms, SortedUnique(feed_names),
                       SortedUnique(fetch_names), SortedUnique(targets)));
  }
  int64_t step_id;
  {
    absl::MutexLock lock(&mu_);
    step_id = static_cast<int64_t>(rng_() >> 1);
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
    CleanupStep(*plan, step_id, workers_);
  };
  std::vector<size_t> order, local_parts;
  for (size_t i = 0; i < n; ++i) {
    const Part& part = plan->parts[i];
    auto& req = requests[i];
    req.set_session_handle(session->handle);
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
  if (!failed) {
    auto cleanup = [this, plan, step_id] {
      CleanupStep(*plan, step_id, workers_);
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
    absl::MutexLock lock(&session->mu);
    session->stale = true;
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

absl::Status Master::CloseSession(
    const ::tensorflow::CloseSessionRequest& request) {
  std::shared_ptr<MasterSession> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(request.session_handle());
    if (it == sessions_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no session '", request.session_handle(), "'"));
    }
    session = std::move(it->second);
    sessions_.erase(it);
  }
  absl::MutexLock lock(&session->mu);
  for (const auto& [task, handle] : session->registered) {
    ::tensorflow::DeregisterGraphRequest dereg;
    dereg.set_session_handle(session->handle);
    dereg.set_graph_handle(handle);
    absl::StatusOr<WorkerInterface*> worker = workers_->GetWorker(task);
    if (!worker.ok()) continue;
    ::tensorflow::DeregisterGraphResponse ignored;
    (void)(*worker)->DeregisterGraph(dereg, &ignored, {.timeout_ms = 2000});
  }
  return absl::OkStatus();
}

absl::Status Master::MakeCallable(
    const ::tensorflow::MakeCallableRequest& request,
    ::tensorflow::MakeCallableResponse* response) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
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
  absl::MutexLock lock(&session->mu);
  const int64_t handle = session->next_callable++;
  session->callables[handle] = options;
  response->set_handle(handle);
  return absl::OkStatus();
}

absl::Status Master::RunCallable(
    const ::tensorflow::RunCallableRequest& request,
    ::tensorflow::RunCallableResponse* response,
    std::function<void()>* after_reply) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  ::tensorflow::CallableOptions options;
  {
    absl::MutexLock lock(&session->mu);
    auto it = session->callables.find(request.handle());
    if (it == session->callables.end()) {
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
  RETURN_IF_ERROR(RunStep(step, &ran, after_reply));
  for (auto& t : *ran.mutable_tensor()) {
    response->add_fetch()->Swap(t.mutable_tensor());
  }
  response->mutable_metadata()->Swap(ran.mutable_metadata());
  return absl::OkStatus();
}

absl::Status Master::ReleaseCallable(
    const ::tensorflow::ReleaseCallableRequest& request) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  absl::MutexLock lock(&session->mu);
  if (session->callables.erase(request.handle()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no callable ", request.handle(), " in session '",
                     request.session_handle(), "' to release"));
  }
  return absl::OkStatus();
}

absl::Status Master::ListDevices(const ::tensorflow::ListDevicesRequest&,
                                 ::tensorflow::ListDevicesResponse* response) {
  std::vector<std::string> tasks = {task_name_};
  for (const std::string& task : workers_->Tasks()) {
    if (task != task_name_) tasks.push_back(task);
  }
  for (const std::string& task : tasks) {
    ASSIGN_OR_RETURN(WorkerInterface * worker, workers_->GetWorker(task));
    ::tensorflow::GetStatusResponse status;
    RETURN_IF_ERROR(
        worker->GetStatus(::tensorflow::GetStatusRequest(), &status,
                          {.timeout_ms = options_.connect_timeout_ms}));
    for (const auto& d : status.device_attributes()) {
      *(task == task_name_ ? response->add_local_device()
                           : response->add_remote_device()) = d;
    }
  }
  return absl::OkStatus();
}

absl::Status Master::Reset(const ::tensorflow::ResetRequest& request) {
  std::vector<std::string> handles;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [handle, s] : sessions_) handles.push_back(handle);
  }
  for (const std::string& h : handles) {
    ::tensorflow::CloseSessionRequest close;
    close.set_session_handle(h);
    (void)CloseSession(close);
  }
  // Every task drops the containers' resources (variables).
  const std::vector<std::string> containers(request.container().begin(),
                                            request.container().end());
  ::tensorflow::CleanupAllRequest cleanup;
  for (const std::string& c : containers) cleanup.add_container(c);
  std::vector<std::string> tasks = {task_name_};
  for (const std::string& task : workers_->Tasks()) {
    if (task != task_name_) tasks.push_back(task);
  }
  for (const std::string& task : tasks) {
    ASSIGN_OR_RETURN(WorkerInterface * worker, workers_->GetWorker(task));
    ::tensorflow::CleanupAllResponse ignored;
    RETURN_IF_ERROR(worker->CleanupAll(
        cleanup, &ignored, {.timeout_ms = options_.connect_timeout_ms}));
  }
  return absl::OkStatus();
}

}  // namespace rill
