// The master of a task: the clients' sessions (master_session.h), by
// handle, and the calls that concern the whole cluster (ListDevices, Reset).
// Transport-free: the gRPC MasterService (grpc_server.h) calls it, and it
// reaches the workers, its own task's included, only through a
// WorkerCacheInterface (worker_interface.h): in a server, the in-process
// worker for its own task and gRPC for the others (worker_cache.h).
#ifndef RILL_DISTRIBUTED_MASTER_H_
#define RILL_DISTRIBUTED_MASTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "distributed/master_session.h"
#include "distributed/protos/master.pb.h"
#include "distributed/worker_interface.h"

namespace rill {

class Master {
 public:
  // `workers` reaches every task of the cluster (this one's included) and
  // outlives the master.
  Master(std::string task_name, WorkerCacheInterface* workers,
         MasterOptions options = {});
  ~Master();

  absl::Status CreateSession(const ::tensorflow::CreateSessionRequest& request,
                             ::tensorflow::CreateSessionResponse* response);
  absl::Status ExtendSession(const ::tensorflow::ExtendSessionRequest& request,
                             ::tensorflow::ExtendSessionResponse* response);
  // Runs one step on every task it touches. After a successful step each
  // task is told to drop the step's state (CleanupGraph); with
  // `after_reply`, that is left there for the caller to run once it has
  // answered the client, off the client's path.
  absl::Status RunStep(const ::tensorflow::RunStepRequest& request,
                       ::tensorflow::RunStepResponse* response,
                       std::function<void()>* after_reply = nullptr,
                       const OnClientCancel& on_cancel = nullptr);
  absl::Status CloseSession(const ::tensorflow::CloseSessionRequest& request);
  // Callables: a step's feeds, fetches and targets named once, then run by
  // handle (TensorFlow's Session::MakeCallable, which Keras uses).
  absl::Status MakeCallable(const ::tensorflow::MakeCallableRequest& request,
                            ::tensorflow::MakeCallableResponse* response);
  absl::Status RunCallable(const ::tensorflow::RunCallableRequest& request,
                           ::tensorflow::RunCallableResponse* response,
                           std::function<void()>* after_reply = nullptr,
                           const OnClientCancel& on_cancel = nullptr);
  absl::Status ReleaseCallable(
      const ::tensorflow::ReleaseCallableRequest& request);
  absl::Status ListDevices(const ::tensorflow::ListDevicesRequest& request,
                           ::tensorflow::ListDevicesResponse* response);
  // Clears the named containers (the default one when none is named) on
  // every task: their variables lose their values. Sessions stay open; a
  // session is closed only through its handle, which only the client that
  // made it holds (128 random bits), or when it sits idle past
  // session_gc_seconds.
  absl::Status Reset(const ::tensorflow::ResetRequest& request);

  int num_sessions() const;

 private:
  struct Entry {
    std::shared_ptr<MasterSession> session;
    absl::Time last_used;
  };

  absl::StatusOr<std::shared_ptr<MasterSession>> Find(
      const std::string& handle);
  // Takes out of sessions_ those idle past session_gc_seconds (at most once
  // a second); the caller closes them after unlocking.
  void TakeIdle(absl::Time now,
                std::vector<std::shared_ptr<MasterSession>>* idle)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseIdle();

  const std::string task_name_;
  WorkerCacheInterface* const workers_;
  const MasterOptions options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> sessions_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_MASTER_H_
