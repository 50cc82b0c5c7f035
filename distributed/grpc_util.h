// Status conversion and deadlines shared by the distributed runtime's gRPC
// clients and services.
#ifndef RILL_DISTRIBUTED_GRPC_UTIL_H_
#define RILL_DISTRIBUTED_GRPC_UTIL_H_

#include <chrono>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace rill {

// A gRPC status as an absl one (the codes are the same numbers). An
// UNAVAILABLE one reads "<peer> is unavailable: <message>"; the others keep
// their message, after "<peer>: " when `name_peer` is set.
absl::Status FromGrpc(const grpc::Status& s, absl::string_view peer,
                      bool name_peer = true);
grpc::Status ToGrpc(const absl::Status& s);

inline std::chrono::system_clock::time_point DeadlineIn(int64_t ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace rill

#endif  // RILL_DISTRIBUTED_GRPC_UTIL_H_
