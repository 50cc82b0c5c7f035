#include "distributed/grpc_session.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"
#include "distributed/step_stats.h"
#include "distributed/transport_security.h"
#include "distributed/worker_channels.h"
#include "grpcpp/grpcpp.h"

namespace rill {
namespace {}  // namespace

absl::StatusOr<std::unique_ptr<GrpcSession>> GrpcSession::Create(
    const std::string& target, ::tensorflow::GraphDef graph,
    const GrpcSessionOptions& options) {
  std::string address = target;
  if (absl::StartsWith(address, "grpc://")) address = address.substr(7);
  if (address.empty() || address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("master '", target, "' is not grpc://host:port"));
  }
  std::unique_ptr<GrpcSession> session(new GrpcSession);
  session->address_ = address;
  session->stub_ = ::tensorflow::MasterService::NewStub(
      NewRillChannel(address, RillChannelArguments(kMaxMessageBytes)));
  ::tensorflow::CreateSessionRequest request;
  *request.mutable_graph_def() = std::move(graph);
  request.mutable_config()->set_allow_soft_placement(
      options.allow_soft_placement);
  request.mutable_config()->set_operation_timeout_in_ms(
      options.operation_timeout_in_ms);
  request.set_target(target);
  ::tensorflow::CreateSessionResponse response;
  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);
  ctx.set_deadline(DeadlineIn(options.connect_timeout_ms));
  const grpc::Status created =
      session->stub_->CreateSession(&ctx, request, &response);
  if (created.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat("no master answered at ", address, " within ",
                     options.connect_timeout_ms, " ms"));
  }
  RETURN_IF_ERROR(FromGrpc(created, absl::StrCat("the master at ", address),
                           /*name_peer=*/false));
  session->handle_ = response.session_handle();
  session->version_ = response.graph_version();
  return session;
}

GrpcSession::~GrpcSession() { (void)Close(); }

absl::Status GrpcSession::Extend(::tensorflow::GraphDef more) {
  if (closed_) return absl::FailedPreconditionError("session is closed");
  ::tensorflow::ExtendSessionRequest request;
  request.set_session_handle(handle_);
  *request.mutable_graph_def() = std::move(more);
  request.set_current_graph_version(version_);
  ::tensorflow::ExtendSessionResponse response;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpc(stub_->ExtendSession(&ctx, request, &response),
                           absl::StrCat("the master at ", address_),
                           /*name_peer=*/false));
  version_ = response.new_graph_version();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> GrpcSession::Run(
    const RunOptions& options,
    const std::vector<std::pair<std::string, Tensor>>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets, RunMetadata* metadata) {
  if (closed_) return absl::FailedPreconditionError("session is closed");
  ::tensorflow::RunStepRequest request;
  request.set_session_handle(handle_);
  for (const auto& [name, tensor] : feeds) {
    if (!tensor.IsInitialized()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' is an uninitialized tensor"));
    }
    auto* feed = request.add_feed();
    feed->set_name(name);
    TensorToProto(tensor, feed->mutable_tensor());
  }
  for (const std::string& f : fetches) request.add_fetch(f);
  for (const std::string& t : targets) request.add_target(t);
  request.mutable_options()->set_timeout_in_ms(options.timeout_in_ms);
  if (metadata != nullptr) {
    request.mutable_options()->set_trace_level(
        ::tensorflow::RunOptions::FULL_TRACE);
  }
  request.set_store_errors_in_response_body(true);
  ::tensorflow::RunStepResponse response;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpc(stub_->RunStep(&ctx, request, &response),
                           absl::StrCat("the master at ", address_),
                           /*name_peer=*/false));
  if (response.status_code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(response.status_code()),
                        response.status_error_message());
  }
  if (response.tensor_size() != static_cast<int>(fetches.size())) {
    return absl::InternalError(
        absl::StrCat("the master returned ", response.tensor_size(),
                     " tensors for ", fetches.size(), " fetches"));
  }
  std::vector<Tensor> out;
  for (const auto& t : response.tensor()) {
    ASSIGN_OR_RETURN(Tensor value, TensorFromProto(t.tensor()));
    out.push_back(std::move(value));
  }
  if (metadata != nullptr) {
    metadata->step_stats.clear();
    StatsFromProto(response.metadata().step_stats(), &metadata->step_stats);
  }
  return out;
}

absl::Status GrpcSession::Close() {
  if (closed_ || stub_ == nullptr) return absl::OkStatus();
  closed_ = true;
  ::tensorflow::CloseSessionRequest request;
  request.set_session_handle(handle_);
  ::tensorflow::CloseSessionResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(5000));
  return FromGrpc(stub_->CloseSession(&ctx, request, &response),
                  absl::StrCat("the master at ", address_),
                  /*name_peer=*/false);
}

absl::Status Reset(const std::string& target,
                   const std::vector<std::string>& containers) {
  std::string address = target;
  if (absl::StartsWith(address, "grpc://")) address = address.substr(7);
  auto stub = ::tensorflow::MasterService::NewStub(
      NewRillChannel(address, RillChannelArguments(kMaxMessageBytes)));
  ::tensorflow::ResetRequest request;
  for (const std::string& c : containers) request.add_container(c);
  ::tensorflow::ResetResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(10000));
  return FromGrpc(stub->Reset(&ctx, request, &response),
                  absl::StrCat("the master at ", address),
                  /*name_peer=*/false);
}

absl::StatusOr<std::unique_ptr<SessionInterface>> NewSession(
    const std::string& target, ::tensorflow::GraphDef graph,
    const SessionOptions& options) {
  if (target.empty() || target == "local") {
    ASSIGN_OR_RETURN(std::unique_ptr<Session> s,
                     Session::Create(std::move(graph), options));
    return std::unique_ptr<SessionInterface>(std::move(s));
  }
  GrpcSessionOptions grpc_options;
  grpc_options.operation_timeout_in_ms = options.operation_timeout_in_ms;
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcSession> s,
                   GrpcSession::Create(target, std::move(graph), grpc_options));
  return std::unique_ptr<SessionInterface>(std::move(s));
}

}  // namespace rill
