// gRPC channels to the other tasks of the cluster, made on first use and
// kept: WorkerService and CollectiveService stubs by task name
// ("/job:ps/replica:0/task:0").
#ifndef RILL_DISTRIBUTED_WORKER_CHANNELS_H_
#define RILL_DISTRIBUTED_WORKER_CHANNELS_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "distributed/cluster.h"
#include "distributed/protos/collective_service.grpc.pb.h"
#include "distributed/protos/worker_service.grpc.pb.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/channel_arguments.h"

namespace rill {

// The largest message a Rill channel or server accepts (a 256 MiB tensor
// and its envelope fit).
inline constexpr int kMaxMessageBytes = 1 << 30;
// The smallest limit a server may be given (the control messages fit).
inline constexpr int kMinMessageBytes = 4096;
// HTTP/2 settings for moving large tensors on fast links.
inline constexpr int kStreamWindowBytes = 64 << 20;
inline constexpr int kMaxFrameBytes = (1 << 24) - 1;

// A peer that stops answering (a hung process, a partitioned host) is
// found by HTTP/2 pings while a call is in flight: one every this often,
// and the connection fails when one goes unanswered this long.
inline constexpr int kKeepaliveMs = 5000;
inline constexpr int kKeepaliveTimeoutMs = 5000;

// The arguments of every Rill channel: the message limit, deep windows and
// large frames for big tensors, keepalive pings, quick reconnection.
grpc::ChannelArguments RillChannelArguments(int max_message_bytes);

// What a completion queue's tag points to: whoever polls the queue runs
// it with the event's `ok`.
class QueueTag {
 public:
  virtual ~QueueTag() = default;
  virtual void Run(bool ok) = 0;
};

class WorkerChannels;

// An asynchronous call on WorkerChannels' completion queue.
class PendingCall : public QueueTag {
 public:
  // Forgets the call, frees its reader, runs its callback, deletes it.
  void Run(bool ok) override;
  // Frees the call's reader, then runs its callback.
  virtual void Complete() = 0;
  WorkerChannels* owner = nullptr;
  grpc::ClientContext* context = nullptr;
  grpc::Status status;
  bool completing = false;  // Guarded by the owner's pending_mu_.
};

class WorkerChannels {
 public:
  // With `queue`, calls run on that completion queue, which its owner
  // polls (running each QueueTag) until after the channels are gone; the
  // server shares its own, so one thread serves both ends and no other
  // thread competes for the sockets. Without, the channels make a queue and
  // a thread to poll it.
  explicit WorkerChannels(ClusterSpec cluster,
                          int max_message_bytes = kMaxMessageBytes,
                          grpc::CompletionQueue* queue = nullptr);
  // Close()s.
  ~WorkerChannels();
  // Cancels the calls in flight, waits until their callbacks have run, and
  // fails later calls at once (UNAVAILABLE): the queue may close after.
  void Close();

  // Calls to other tasks run on the completion queue (one thread hop less
  // per call than gRPC's callback API). Prepare the call on queue(), then
  // Start it; `done` runs on the queue's thread when the call ends (the
  // context must outlive it).
  //   auto call = stub->PrepareAsyncRunGraph(&ctx, request, channels.queue());
  //   channels.Start(std::move(call), &ctx, &response, done);
  grpc::CompletionQueue* queue() { return queue_; }
  template <typename Response>
  void Start(std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> call,
             grpc::ClientContext* ctx, Response* response,
             std::function<void(const grpc::Status&)> done) {
    auto* pending = new TypedCall<Response>;
    pending->owner = this;
    pending->context = ctx;
    pending->reader = std::move(call);
    pending->done = std::move(done);
    if (!Track(pending)) {
      pending->status =
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is stopping");
      pending->Complete();
      delete pending;
      return;
    }
    pending->reader->StartCall();
    pending->reader->Finish(response, &pending->status, pending);
  }

  // NOT_FOUND when the cluster has no such task.
  absl::StatusOr<::tensorflow::WorkerService::Stub*> Stub(
      const std::string& task_name);
  // A raw-bytes stub on the same channel (RecvTensor without protobuf
  // copies, distributed/tensor_coding.h).
  absl::StatusOr<grpc::GenericStub*> RawStub(const std::string& task_name);
  // The task's CollectiveService, on the same channel.
  absl::StatusOr<CollectiveService::Stub*> CollectiveStub(
      const std::string& task_name);
  const ClusterSpec& cluster() const { return cluster_; }
  int max_message_bytes() const { return max_message_bytes_; }

 private:
  template <typename Response>
  struct TypedCall : PendingCall {
    std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
    std::function<void(const grpc::Status&)> done;
    void Complete() override {
      // The reader lives in the call's arena, which the callback may free
      // (with the context).
      reader.reset();
      done(status);
    }
  };
  friend class PendingCall;
  bool Track(PendingCall* call);  // False once closed.

  std::unique_ptr<grpc::CompletionQueue> own_queue_;
  grpc::CompletionQueue* queue_;
  absl::Mutex pending_mu_;
  absl::flat_hash_set<PendingCall*> pending_ ABSL_GUARDED_BY(pending_mu_);
  bool closed_ ABSL_GUARDED_BY(pending_mu_) = false;
  std::thread poller_;
  const ClusterSpec cluster_;
  const int max_message_bytes_;
  absl::Mutex mu_;
  struct Stubs {
    std::unique_ptr<::tensorflow::WorkerService::Stub> typed;
    std::unique_ptr<grpc::GenericStub> raw;
    std::unique_ptr<CollectiveService::Stub> collective;
  };
  absl::StatusOr<Stubs*> Find(const std::string& task_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::flat_hash_map<std::string, Stubs> stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_WORKER_CHANNELS_H_
