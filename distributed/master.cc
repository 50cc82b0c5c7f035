#include "distributed/master.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {

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
  std::string handle;
  {
    absl::MutexLock lock(&mu_);
    handle = absl::StrCat("session_", absl::Hex(rng_()));
  }
  ASSIGN_OR_RETURN(
      std::shared_ptr<MasterSession> session,
      MasterSession::Create(handle, request, task_name_, workers_, options_));
  absl::MutexLock lock(&mu_);
  sessions_[handle] = std::move(session);
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
    session = std::move(it->second);
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
