#include "distributed/master.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status TooManySessions(int limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat("this master has ", limit,
                   " open sessions, its limit (--max_sessions); close "
                   "sessions that are done"));
}

}  // namespace

Master::Master(std::string task_name, WorkerCacheInterface* workers,
               MasterOptions options)
    : task_name_(std::move(task_name)), workers_(workers), options_(options) {}

Master::~Master() = default;

int Master::num_sessions() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(sessions_.size());
}

void Master::TakeIdle(absl::Time now,
                      std::vector<std::shared_ptr<MasterSession>>* idle) {
  if (options_.session_gc_seconds <= 0 ||
      now - last_sweep_ < absl::Seconds(1)) {
    return;
  }
  last_sweep_ = now;
  const absl::Time cutoff = now - absl::Seconds(options_.session_gc_seconds);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    // use_count 1: only the map holds it, no call is using it.
    if (it->second.last_used < cutoff && it->second.session.use_count() == 1) {
      idle->push_back(std::move(it->second.session));
      sessions_.erase(it++);
    } else {
      ++it;
    }
  }
}

void Master::CloseIdle() {
  std::vector<std::shared_ptr<MasterSession>> idle;
  {
    absl::MutexLock lock(&mu_);
    TakeIdle(absl::Now(), &idle);
  }
  for (const auto& session : idle) session->Close();
}

absl::StatusOr<std::shared_ptr<MasterSession>> Master::Find(
    const std::string& handle) {
  CloseIdle();
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "no session '", handle,
        "' on this master (closed, idle past --session_gc_seconds, or the "
        "server restarted)"));
  }
  it->second.last_used = absl::Now();
  return it->second.session;
}

absl::Status Master::CreateSession(
    const ::tensorflow::CreateSessionRequest& request,
    ::tensorflow::CreateSessionResponse* response) {
  CloseIdle();
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(sessions_.size()) >= options_.max_sessions) {
      return TooManySessions(options_.max_sessions);
    }
  }
  // The handle is the client's proof of ownership: 128 bits from the
  // system's random source, never guessable from other handles.
  std::random_device random;
  std::string handle =
      absl::StrCat("session_", absl::Hex(random()), absl::Hex(random()),
                   absl::Hex(random()), absl::Hex(random()));
  ASSIGN_OR_RETURN(
      std::shared_ptr<MasterSession> session,
      MasterSession::Create(handle, request, task_name_, workers_, options_));
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(sessions_.size()) < options_.max_sessions) {
      sessions_[handle] = Entry{std::move(session), absl::Now()};
    }
  }
  if (session != nullptr) {  // Others took the last places meanwhile.
    session->Close();
    return TooManySessions(options_.max_sessions);
  }
  response->set_session_handle(handle);
  response->set_graph_version(0);
  return absl::OkStatus();
}

absl::Status Master::ExtendSession(
    const ::tensorflow::ExtendSessionRequest& request,
    ::tensorflow::ExtendSessionResponse* response) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  return session->Extend(request, response);
}

absl::Status Master::RunStep(const ::tensorflow::RunStepRequest& request,
                             ::tensorflow::RunStepResponse* response,
                             std::function<void()>* after_reply,
                             const OnClientCancel& on_cancel) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  return session->RunStep(request, response, after_reply, on_cancel);
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
    session = std::move(it->second.session);
    sessions_.erase(it);
  }
  session->Close();
  return absl::OkStatus();
}

absl::Status Master::MakeCallable(
    const ::tensorflow::MakeCallableRequest& request,
    ::tensorflow::MakeCallableResponse* response) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  return session->MakeCallable(request, response);
}

absl::Status Master::RunCallable(
    const ::tensorflow::RunCallableRequest& request,
    ::tensorflow::RunCallableResponse* response,
    std::function<void()>* after_reply, const OnClientCancel& on_cancel) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  return session->RunCallable(request, response, after_reply, on_cancel);
}

absl::Status Master::ReleaseCallable(
    const ::tensorflow::ReleaseCallableRequest& request) {
  ASSIGN_OR_RETURN(auto session, Find(request.session_handle()));
  return session->ReleaseCallable(request);
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
