// rill health grpc://HOST:PORT [--timeout S] [security flags]: exit 0 when
// the server there answers GetStatus (a readiness probe), else one error
// line naming it.
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "distributed/grpc_util.h"
#include "distributed/protos/worker_service.grpc.pb.h"
#include "distributed/transport_security.h"
#include "distributed/worker_channels.h"
#include "grpcpp/grpcpp.h"
#include "tools/commands.h"
#include "tools/flag_values.h"

namespace rill::tools {

absl::Status Health(const Args& args, std::ostream& out) {
  std::string target;
  double timeout_s = 5;
  SecurityFlags security;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      if (!target.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", arg, "'"));
      }
      target = arg;
      continue;
    }
    if (i + 1 >= args.size()) {
      return absl::InvalidArgumentError(absl::StrCat(arg, ": needs a value"));
    }
    const std::string& value = args[++i];
    if (arg == "--timeout") {
      if (!absl::SimpleAtod(value, &timeout_s) || !(timeout_s > 0) ||
          timeout_s > 3600) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--timeout: expected seconds in (0, 3600], got '", value, "'"));
      }
    } else if (!security.Take(arg, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "' for rill health"));
    }
  }
  std::string address = target;
  if (absl::StartsWith(address, "grpc://")) address = address.substr(7);
  if (address.empty() || address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        "usage: rill health grpc://HOST:PORT [--timeout SECONDS]");
  }
  RETURN_IF_ERROR(security.Apply().status());
  auto stub = ::tensorflow::WorkerService::NewStub(
      NewRillChannel(address, RillChannelArguments(kMinMessageBytes << 8)));
  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);
  ctx.set_deadline(DeadlineIn(static_cast<int64_t>(timeout_s * 1000)));
  ::tensorflow::GetStatusResponse response;
  const grpc::Status status =
      stub->GetStatus(&ctx, ::tensorflow::GetStatusRequest(), &response);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // Nothing there, or a server this client cannot speak with (TLS on one
    // side only, certificates from another CA).
    return absl::UnavailableError(
        absl::StrCat("no server answered at ", address, " within ", timeout_s,
                     " s (is it up, and do its TLS flags match these?)"));
  }
  RETURN_IF_ERROR(FromGrpc(status, absl::StrCat("the server at ", address),
                           /*name_peer=*/false));
  out << "ok: " << address << " serves " << response.device_attributes_size()
      << " device" << (response.device_attributes_size() == 1 ? "" : "s");
  if (response.device_attributes_size() > 0) {
    out << " (" << response.device_attributes(0).name() << ", ...)";
  }
  out << "\n";
  return absl::OkStatus();
}

}  // namespace rill::tools
