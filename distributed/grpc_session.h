// A session on a cluster: the client side of TensorFlow's MasterService.
// Same interface as the in-process Session.
//
//   ASSIGN_OR_RETURN(auto session, NewSession("grpc://localhost:2222", def));
//   ASSIGN_OR_RETURN(auto out, session->Run({{"x", x}}, {"loss"}, {"train"}));
#ifndef RILL_DISTRIBUTED_GRPC_SESSION_H_
#define RILL_DISTRIBUTED_GRPC_SESSION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "distributed/protos/master_service.grpc.pb.h"
#include "runtime/session/session.h"
#include "runtime/session/session_interface.h"

namespace rill {

struct GrpcSessionOptions {
  // How long to wait for the master to answer CreateSession.
  int64_t connect_timeout_ms = 10000;
  // The step timeout the master applies when RunOptions give none.
  int64_t operation_timeout_in_ms = 0;
  // A node pinned to a device the cluster lacks (a GPU on a CPU-only
  // cluster) runs on another device of its task rather than failing; on by
  // default, as in the in-process Session (TensorFlow's clients say off).
  bool allow_soft_placement = true;
};

class GrpcSession : public SessionInterface {
 public:
  using SessionInterface::Run;

  // target: "grpc://host:port" (or "host:port"). UNAVAILABLE naming the
  // address when no master answers.
  static absl::StatusOr<std::unique_ptr<GrpcSession>> Create(
      const std::string& target, ::tensorflow::GraphDef graph,
      const GrpcSessionOptions& options = {});
  ~GrpcSession() override;

  absl::Status Extend(::tensorflow::GraphDef more) override;
  absl::StatusOr<std::vector<Tensor>> Run(
      const RunOptions& options,
      const std::vector<std::pair<std::string, Tensor>>& feeds,
      const std::vector<std::string>& fetches,
      const std::vector<std::string>& targets,
      RunMetadata* metadata = nullptr) override;
  absl::Status Close() override;

 private:
  GrpcSession() = default;

  std::string address_;
  std::unique_ptr<::tensorflow::MasterService::Stub> stub_;
  std::string handle_;
  int64_t version_ = 0;
  bool closed_ = false;
};

// Closes every session of the cluster whose master is `target` and drops
// the resources (variables) of `containers` (the default one when empty) on
// all its tasks, as tf.compat.v1.Session.reset does.
absl::Status Reset(const std::string& target,
                   const std::vector<std::string>& containers = {});

// A session for `target`: "" or "local" in this process, "grpc://..." on a
// cluster.
absl::StatusOr<std::unique_ptr<SessionInterface>> NewSession(
    const std::string& target, ::tensorflow::GraphDef graph,
    const SessionOptions& options = {});

}  // namespace rill

#endif  // RILL_DISTRIBUTED_GRPC_SESSION_H_
