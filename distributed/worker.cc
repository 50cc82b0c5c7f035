#include "distributed/worker.h"

#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "core/framework/tensor_proto.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"
#include "distributed/remote_rendezvous.h"
#include "distributed/step_stats.h"
#include "distributed/tensor_coding.h"
#include "grpcpp/grpcpp.h"
#include "runtime/device/device_name.h"
#include "runtime/executor/step_runner.h"
#include "runtime/rendezvous/local_rendezvous.h"

namespace rill {

Worker::Worker(std::string task_name, std::vector<Device*> devices,
               oneapi::tbb::task_arena* arena, WorkerCacheInterface* peers,
               WorkerOptions options)
    : task_name_(std::move(task_name)),
      devices_(std::move(devices)),
      arena_(arena),
      peers_(peers),
      options_(options) {}

Worker::~Worker() {
  AbortAllSteps();
  // The aborted steps end soon; their callbacks still use this worker.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &runs_in_flight_));
}

void Worker::GetStatus(::tensorflow::GetStatusResponse* response) const {
  for (const Device* d : devices_) {
    auto* attrs = response->add_device_attributes();
    attrs->set_name(d->name());
    attrs->set_device_type(d->device_type());
    attrs->set_incarnation(d->incarnation());
  }
}

Device* Worker::LocalDevice(const std::string& name) const {
  for (Device* d : devices_) {
    if (d->name() == name) return d;
  }
  return nullptr;
}

absl::Status Worker::CreateWorkerSession(
    const ::tensorflow::CreateWorkerSessionRequest& request) {
  if (request.session_handle().empty()) {
    return absl::InvalidArgumentError("CreateWorkerSession needs a handle");
  }
  return absl::OkStatus();
}

absl::Status Worker::DeleteWorkerSession(
    const ::tensorflow::DeleteWorkerSessionRequest& request) {
  absl::MutexLock lock(&mu_);
  for (auto it = graphs_.begin(); it != graphs_.end();) {
    auto next = std::next(it);
    if (it->second->session == request.session_handle()) graphs_.erase(it);
    it = next;
  }
  return absl::OkStatus();
}

absl::Status Worker::RegisterGraph(
    const ::tensorflow::RegisterGraphRequest& request,
    ::tensorflow::RegisterGraphResponse* response) {
  const auto& def = request.graph_def();
  if (def.node_size() == 0) {
    return absl::InvalidArgumentError("RegisterGraph: the graph is empty");
  }
  const std::string& device_name = def.node(0).device();
  Device* device = LocalDevice(device_name);
  if (device == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RegisterGraph: node '", def.node(0).name(), "' is on device '",
        device_name, "', not one of task ", task_name_));
  }
  for (const auto& n : def.node()) {
    if (n.device() != device_name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "RegisterGraph: a partition must be on one device; node '", n.name(),
          "' is on '", n.device(), "', node '", def.node(0).name(), "' on '",
          device_name, "'"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, ImportGraphDef(def));
  for (Node* n : graph->nodes()) n->set_assigned_device(device_name);
  ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor,
                   Executor::Create(std::move(graph), device));
  auto registered = std::make_shared<Registered>();
  registered->session = request.session_handle();
  registered->device = device->name();
  registered->executor = std::move(executor);
  absl::MutexLock lock(&mu_);
  const std::string handle = absl::StrCat("graph", next_graph_++);
  graphs_[handle] = std::move(registered);
  response->set_graph_handle(handle);
  return absl::OkStatus();
}

absl::Status Worker::DeregisterGraph(
    const ::tensorflow::DeregisterGraphRequest& request) {
  absl::MutexLock lock(&mu_);
  if (graphs_.erase(request.graph_handle()) == 0) {
    return absl::NotFoundError(absl::StrCat(
        "no graph '", request.graph_handle(), "' on task ", task_name_));
  }
  return absl::OkStatus();
}

std::shared_ptr<StepRendezvous> Worker::StepFor(int64_t step_id, bool run) {
  std::vector<std::pair<int64_t, std::shared_ptr<StepRendezvous>>> abandoned;
  std::shared_ptr<StepRendezvous> step;
  bool late = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    const absl::Duration age = absl::Milliseconds(options_.abandoned_step_ms);
    if (now - last_sweep_ > age / 4) {
      last_sweep_ = now;
      for (auto it = steps_.begin(); it != steps_.end();) {
        auto next = std::next(it);
        if (it->second.running == 0 && now - it->second.last_active > age &&
            it->first != step_id) {
          abandoned.emplace_back(it->first, std::move(it->second.rendezvous));
          NoteEnded(it->first);
          steps_.erase(it);
        }
        it = next;
      }
    }
    // Late for a step that ended here: an aborted rendezvous, kept by no
    // one, so its RunGraph or RecvTensor fails at once.
    late = ended_.contains(step_id) && !steps_.contains(step_id);
    if (late) {
      step = std::make_shared<StepRendezvous>(step_id, task_name_, peers_,
                                              options_.recv_timeout_ms);
      if (run) ++runs_in_flight_;
    } else {
      StepEntry& entry = steps_[step_id];
      if (entry.rendezvous == nullptr) {
        entry.rendezvous = std::make_shared<StepRendezvous>(
            step_id, task_name_, peers_, options_.recv_timeout_ms);
      }
      entry.last_active = now;
      if (run) {
        ++entry.running;
        ++runs_in_flight_;
      }
      step = entry.rendezvous;
    }
  }
  if (late) {
    step->Fail(absl::AbortedError(
        absl::StrCat("step ", step_id, " already ended on task ", task_name_)));
  }
  for (auto& [id, old] : abandoned) {
    old->Fail(absl::AbortedError(absl::StrCat(
        "step ", id, " was abandoned on task ", task_name_, ": no RunGraph ",
        "or CleanupGraph for it in ", options_.abandoned_step_ms, " ms")));
  }
  return step;
}

void Worker::StepRan(int64_t step_id) {
  absl::MutexLock lock(&mu_);
  --runs_in_flight_;
  auto it = steps_.find(step_id);
  // (Ended meanwhile, perhaps made again by a late RecvTensor.)
  if (it == steps_.end() || it->second.running == 0) return;
  --it->second.running;
  it->second.last_active = absl::Now();
}

size_t Worker::num_steps() {
  absl::MutexLock lock(&mu_);
  return steps_.size();
}

absl::Status Worker::RunGraph(const ::tensorflow::RunGraphRequest& request,
                              ::tensorflow::RunGraphResponse* response,
                              int64_t timeout_ms) {
  // Shared with the callback, which may still be returning from Notify()
  // when this thread wakes.
  struct Result {
    absl::Notification done;
    absl::Status status;
  };
  auto result = std::make_shared<Result>();
  RunGraphAsync(request, response, [result](absl::Status s) {
    result->status = std::move(s);
    result->done.Notify();
  });
  if (timeout_ms > 0 && !result->done.WaitForNotificationWithTimeout(
                            absl::Milliseconds(timeout_ms))) {
    CancelStep(request.step_id(),
               absl::DeadlineExceededError(absl::StrCat(
                   "the step did not finish within its timeout of ", timeout_ms,
                   " ms")));
  }
  result->done.WaitForNotification();
  return result->status;
}

void Worker::RunGraphAsync(const ::tensorflow::RunGraphRequest& request,
                           ::tensorflow::RunGraphResponse* response,
                           std::function<void(absl::Status)> done) {
  std::shared_ptr<const Registered> graph;
  {
    absl::MutexLock lock(&mu_);
    auto it = graphs_.find(request.graph_handle());
    if (it != graphs_.end()) graph = it->second;
  }
  if (graph == nullptr) {
    done(absl::NotFoundError(
        absl::StrCat("no graph '", request.graph_handle(), "' on task ",
                     task_name_, " (it restarted, or the graph was dropped)")));
    return;
  }
  const int64_t step_id = request.step_id();
  std::shared_ptr<StepRendezvous> step = StepFor(step_id, /*run=*/true);
  for (const auto& send : request.send()) {
    absl::StatusOr<Tensor> t = TensorFromProto(send.tensor());
    absl::Status sent =
        t.ok() ? step->Send(send.name(), *t, false) : t.status();
    if (!sent.ok()) {
      StepRan(step_id);
      done(sent);
      return;
    }
  }
  StepRun run;
  run.step_id = request.step_id();
  run.rendezvous = step.get();
  run.collectives = options_.collectives;
  run.cancellation = step->cancellation();
  // A traced step (RunOptions.trace_level) times every node.
  std::shared_ptr<std::vector<std::vector<NodeExecStats>>> stats;
  if (request.exec_opts().record_timeline() ||
      request.exec_opts().record_costs()) {
    stats = std::make_shared<std::vector<std::vector<NodeExecStats>>>(1);
    run.stats = stats.get();
  }
  // The step's rendezvous and the partition's executor stay alive until
  // the step ends, whatever CleanupGraph or DeregisterGraph do meanwhile.
  RunExecutorAsync(arena_, graph->executor.get(), run,
                   [this, step_id, step, graph, stats, &request, response,
                    done = std::move(done)](absl::Status s) {
                     if (s.ok())
                       s = CollectFetches(request, step.get(), response);
                     if (s.ok() && stats != nullptr) {
                       StatsToProto(
                           graph->device, (*stats)[0],
                           response->mutable_step_stats()->add_dev_stats());
                     }
                     StepRan(step_id);
                     done(s);
                   });
}

absl::Status Worker::CollectFetches(
    const ::tensorflow::RunGraphRequest& request, StepRendezvous* step,
    ::tensorflow::RunGraphResponse* response) {
  for (const std::string& key : request.recv_key()) {
    // After a successful step every fetched tensor was sent: the receive
    // completes inline. A missing one leaves the callback to the step's
    // cleanup, so its state is shared, not on this stack.
    struct Result {
      bool called = false;
      absl::Status status;
      Tensor value;
      bool dead = false;
    };
    auto result = std::make_shared<Result>();
    step->RecvLocal(
        key, [result](const absl::Status& s, const Tensor& t, bool is_dead) {
          result->called = true;
          result->status = s;
          result->value = t;
          result->dead = is_dead;
        });
    if (!result->called || result->dead) {
      return absl::InternalError(
          absl::StrCat("the step finished without sending '", key, "'"));
    }
    RETURN_IF_ERROR(result->status);
    auto* recv = response->add_recv();
    recv->set_name(key);
    TensorToProto(result->value, recv->mutable_tensor());
  }
  return absl::OkStatus();
}

void Worker::CancelStep(int64_t step_id, const absl::Status& why) {
  std::shared_ptr<StepRendezvous> step;
  {
    absl::MutexLock lock(&mu_);
    auto it = steps_.find(step_id);
    if (it == steps_.end()) return;
    step = it->second.rendezvous;
  }
  step->Fail(why);
}

void Worker::NoteEnded(int64_t step_id) {
  if (!ended_.insert(step_id).second) return;
  ended_order_.push_back(step_id);
  if (ended_order_.size() > kEndedSteps) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

absl::Status Worker::CleanupGraph(int64_t step_id) {
  std::shared_ptr<StepRendezvous> step;
  {
    absl::MutexLock lock(&mu_);
    // Also when the step has not started here yet: its RunGraph may still
    // be on its way.
    NoteEnded(step_id);
    auto it = steps_.find(step_id);
    if (it == steps_.end()) return absl::OkStatus();
    step = std::move(it->second.rendezvous);
    steps_.erase(it);
  }
  step->Fail(absl::AbortedError(absl::StrCat("step ", step_id, " was ended")));
  return absl::OkStatus();
}

void Worker::AbortAllSteps() {
  std::vector<int64_t> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, step] : steps_) ids.push_back(id);
  }
  for (int64_t id : ids) (void)CleanupGraph(id);
}

absl::Status Worker::CleanupAll(const std::vector<std::string>& containers) {
  for (Device* d : devices_) {
    if (containers.empty()) {
      d->resource_manager()->Cleanup("");
    } else {
      for (const std::string& c : containers) d->resource_manager()->Cleanup(c);
    }
  }
  return absl::OkStatus();
}

void Worker::RecvTensorAsync(const ::tensorflow::RecvTensorRequest& request,
                             Rendezvous::DoneCallback done) {
  absl::StatusOr<Rendezvous::ParsedKey> parts =
      Rendezvous::ParseKey(request.rendezvous_key());
  if (!parts.ok()) {
    done(parts.status(), Tensor(), false);
    return;
  }
  Device* device = LocalDevice(parts->send_device);
  if (device == nullptr) {
    done(absl::InvalidArgumentError(
             absl::StrCat("RecvTensor: device ", parts->send_device,
                          " is not a device of task ", task_name_)),
         Tensor(), false);
    return;
  }
  if (parts->send_device_incarnation != device->incarnation()) {
    done(absl::AbortedError(
             absl::StrCat("RecvTensor: the key names incarnation ",
                          absl::Hex(parts->send_device_incarnation), " of ",
                          parts->send_device, ", which is now ",
                          absl::Hex(device->incarnation()),
                          ": the task restarted; the step must be rerun")),
         Tensor(), false);
    return;
  }
  StepFor(request.step_id())
      ->RecvLocal(request.rendezvous_key(), std::move(done));
}

absl::Status Worker::RecvTensor(const ::tensorflow::RecvTensorRequest& request,
                                int64_t timeout_ms, Tensor* value,
                                bool* is_dead) {
  struct Result {
    absl::Notification done;
    absl::Status status;
    Tensor value;
    bool dead = false;
  };
  auto result = std::make_shared<Result>();
  RecvTensorAsync(request,
                  [result](const absl::Status& s, const Tensor& t, bool dead) {
                    result->status = s;
                    result->value = t;
                    result->dead = dead;
                    result->done.Notify();
                  });
  if (!result->done.WaitForNotificationWithTimeout(
          absl::Milliseconds(timeout_ms))) {
    return absl::DeadlineExceededError(
        absl::StrCat("RecvTensor: task ", task_name_, " did not send '",
                     request.rendezvous_key(), "' within ", timeout_ms, " ms"));
  }
  RETURN_IF_ERROR(result->status);
  *is_dead = result->dead;
  *value = result->value;
  return absl::OkStatus();
}

}  // namespace rill
