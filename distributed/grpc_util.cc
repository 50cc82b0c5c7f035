#include "distributed/grpc_util.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace rill {

absl::Status FromGrpc(const grpc::Status& s, absl::string_view peer,
                      bool name_peer) {
  if (s.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(s.error_code());
  if (code == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(
        absl::StrCat(peer, " is unavailable: ", s.error_message()));
  }
  if (!name_peer) return absl::Status(code, s.error_message());
  return absl::Status(code, absl::StrCat(peer, ": ", s.error_message()));
}

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

}  // namespace rill
