// A Rill server: one task of a cluster, both master and worker, serving
// TensorFlow's MasterService and WorkerService over gRPC.
//
//   auto cluster = ClusterSpec::FromJson(R"({"ps": ["localhost:2222"], ...})");
//   auto server = RillServer::Create(*cluster, "ps", 0);
//   RETURN_IF_ERROR((*server)->Start());   // listens on localhost:2222
//   (*server)->Wait();                     // until Stop()
#ifndef RILL_DISTRIBUTED_GRPC_SERVER_H_
#define RILL_DISTRIBUTED_GRPC_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "distributed/cluster.h"
#include "distributed/master.h"
#include "distributed/transport_security.h"
#include "distributed/worker.h"
#include "distributed/worker_cache.h"
#include "distributed/worker_channels.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "oneapi/tbb/global_control.h"
#include "oneapi/tbb/task_arena.h"
#include "runtime/collective/coordinator.h"
#include "runtime/collective/gloo_executor.h"
#include "runtime/device/device.h"

namespace rill {

struct ServerOptions {
  int num_cpu_devices = 1;
  // Threads for running partitions; 0: one per core.
  int num_threads = 0;
  // The largest message the server accepts or sends, and its channels to
  // the other tasks; a larger one is RESOURCE_EXHAUSTED. A tensor fed,
  // fetched or sent between tasks must fit in one message.
  int max_message_bytes = kMaxMessageBytes;
  // Threads for calls that block (the master's methods; RegisterGraph):
  // at most this many each, more calls wait their turn.
  int max_master_threads = 64;
  int max_worker_threads = 8;
  // The address to listen on (a host name or IP, no port); empty: the
  // host of this task in the cluster spec.
  std::string bind;
  // The token every call must carry and the TLS this server speaks.
  TransportSecurity security;
  WorkerOptions worker;
  MasterOptions master;
  GlooExecutorOptions collectives;  // Its hostname is the task's host.
};

class RillServer {
 public:
  // INVALID_ARGUMENT / NOT_FOUND when the task is not in the cluster.
  static absl::StatusOr<std::unique_ptr<RillServer>> Create(
      const ClusterSpec& cluster, const std::string& job, int task,
      const ServerOptions& options = {});
  ~RillServer();

  // Listens on <options.bind or the task's host>:<the task's port>.
  // UNAVAILABLE naming the address when it cannot be bound.
  absl::Status Start();
  // Stops accepting calls, lets running ones finish (a few seconds at most),
  // and returns; Wait() returns after it.
  void Stop();
  void Wait();

  const std::string& task_name() const { return task_name_; }
  Master* master() { return master_.get(); }
  Worker* worker() { return worker_.get(); }
  // Every task's worker as this task reaches it (its own in-process).
  WorkerCacheInterface* workers() { return workers_.get(); }

 private:
  RillServer() = default;
  void CloseQueue();

 public:
  // Defined and used in grpc_server.cc only.
  class CallPool;
  class Dispatcher;

 private:
  std::string task_name_;
  std::string address_;
  std::string bind_;
  TransportSecurity security_;
  int max_message_bytes_ = kMaxMessageBytes;
  std::vector<std::unique_ptr<Device>> devices_;
  std::unique_ptr<oneapi::tbb::global_control> parallelism_;
  std::unique_ptr<oneapi::tbb::task_arena> arena_;
  std::unique_ptr<WorkerChannels> channels_;
  // This task's coordinator (used by the cluster when this task is the
  // coordinator task), the client members use, and the executor.
  std::unique_ptr<CollectiveCoordinator> coordinator_;
  // Every task's WorkerInterface; outlives those who call through it.
  std::unique_ptr<GrpcWorkerCache> workers_;
  std::unique_ptr<CoordinatorClient> coordinator_client_;
  std::unique_ptr<GlooCollectiveExecutor> collectives_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Master> master_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<grpc::AsyncGenericService> generic_;
  std::unique_ptr<grpc::ServerBuilder> builder_;  // Until Start.
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> queue_threads_;
  bool stopped_ = false;
  bool queue_closed_ = false;
  // After server_: its calls finish (their threads joined) before the
  // server goes.
  std::unique_ptr<CallPool> master_pool_, worker_pool_;
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_GRPC_SERVER_H_
