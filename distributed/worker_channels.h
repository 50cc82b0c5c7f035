// gRPC channels to the other tasks of the cluster, made on first use and
// kept: WorkerService stubs by task name ("/job:ps/replica:0/task:0").
#ifndef RILL_DISTRIBUTED_WORKER_CHANNELS_H_
#define RILL_DISTRIBUTED_WORKER_CHANNELS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "distributed/cluster.h"
#include "distributed/protos/worker_service.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
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

class WorkerChannels {
 public:
  explicit WorkerChannels(ClusterSpec cluster,
                          int max_message_bytes = kMaxMessageBytes)
      : cluster_(std::move(cluster)), max_message_bytes_(max_message_bytes) {}

  // NOT_FOUND when the cluster has no such task.
  absl::StatusOr<::tensorflow::WorkerService::Stub*> Stub(
      const std::string& task_name);
  // A raw-bytes stub on the same channel (RecvTensor without protobuf
  // copies, distributed/tensor_coding.h).
  absl::StatusOr<grpc::GenericStub*> RawStub(const std::string& task_name);
  const ClusterSpec& cluster() const { return cluster_; }
  int max_message_bytes() const { return max_message_bytes_; }

 private:
  const ClusterSpec cluster_;
  const int max_message_bytes_;
  absl::Mutex mu_;
  struct Stubs {
    std::unique_ptr<::tensorflow::WorkerService::Stub> typed;
    std::unique_ptr<grpc::GenericStub> raw;
  };
  absl::StatusOr<Stubs*> Find(const std::string& task_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::flat_hash_map<std::string, Stubs> stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_DISTRIBUTED_WORKER_CHANNELS_H_
