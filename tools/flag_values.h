// Values of flags that several rill commands share.
#ifndef RILL_TOOLS_FLAG_VALUES_H_
#define RILL_TOOLS_FLAG_VALUES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "distributed/transport_security.h"

namespace rill::tools {

// A byte count: digits with an optional binary suffix K, M, G or T
// ("1073741824", "512M", "8G"). INVALID_ARGUMENT naming `flag` otherwise,
// or for 0 and counts past 2^62.
absl::StatusOr<int64_t> ParseByteCount(absl::string_view flag,
                                       absl::string_view value);

// --memory_limit BYTES: sets the CPU allocator's limit for this process.
absl::Status ApplyMemoryLimit(absl::string_view value);

// --auth_token_file F, --tls_cert F, --tls_key F, --tls_ca F: how this
// process reaches secured servers (and, for rill server, what it demands).
struct SecurityFlags {
  std::string auth_token_file, tls_cert, tls_key, tls_ca;

  // Takes the value when `name` is one of the four; false otherwise.
  bool Take(absl::string_view name, const std::string& value);
  // Reads the files and makes them this process's client security; the
  // servers it starts (--local-cluster) get the same flags.
  absl::StatusOr<TransportSecurity> Apply() const;
};

// Flags for the `rill server` processes this process starts
// (--local-cluster): the security flags given to Apply(), and what
// AddLocalServerArgs added (rill train: --file_root CHECKPOINT_DIR).
std::vector<std::string> LocalServerArgs();
void AddLocalServerArgs(const std::vector<std::string>& args);

}  // namespace rill::tools

#endif  // RILL_TOOLS_FLAG_VALUES_H_
