#include "tools/flag_values.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/allocator.h"
#include "core/platform/status_macros.h"

namespace rill::tools {

absl::StatusOr<int64_t> ParseByteCount(absl::string_view flag,
                                       absl::string_view value) {
  absl::string_view digits = value;
  int shift = 0;
  if (!digits.empty()) {
    switch (absl::ascii_toupper(digits.back())) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        break;
    }
    if (shift > 0) digits.remove_suffix(1);
  }
  constexpr int64_t kMax = int64_t{1} << 62;
  int64_t n = 0;
  if (digits.empty() || !absl::ascii_isdigit(digits.front()) ||
      !absl::SimpleAtoi(digits, &n) || n <= 0 || n > (kMax >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": expected a byte count such as 1073741824, 512M or 8G, got '",
        value, "'"));
  }
  return n << shift;
}

absl::Status ApplyMemoryLimit(absl::string_view value) {
  ASSIGN_OR_RETURN(int64_t bytes, ParseByteCount("--memory_limit", value));
  CpuAllocator()->set_limit(bytes);
  return absl::OkStatus();
}

bool SecurityFlags::Take(absl::string_view name, const std::string& value) {
  if (name == "--auth_token_file") {
    auth_token_file = value;
  } else if (name == "--tls_cert") {
    tls_cert = value;
  } else if (name == "--tls_key") {
    tls_key = value;
  } else if (name == "--tls_ca") {
    tls_ca = value;
  } else {
    return false;
  }
  return true;
}

namespace {

absl::Mutex server_args_mu;
std::vector<std::string>& ServerArgs()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(server_args_mu) {
  static auto* const args = new std::vector<std::string>;
  return *args;
}

}  // namespace

absl::StatusOr<TransportSecurity> SecurityFlags::Apply() const {
  ASSIGN_OR_RETURN(
      TransportSecurity security,
      TransportSecurity::FromFiles(auth_token_file, tls_cert, tls_key, tls_ca));
  SetClientSecurity(security);
  std::vector<std::string> args;
  const std::pair<const char*, const std::string*> flags[] = {
      {"--auth_token_file", &auth_token_file},
      {"--tls_cert", &tls_cert},
      {"--tls_key", &tls_key},
      {"--tls_ca", &tls_ca}};
  for (const auto& [flag, value] : flags) {
    if (value->empty()) continue;
    args.push_back(flag);
    args.push_back(*value);
  }
  AddLocalServerArgs(args);
  return security;
}

std::vector<std::string> LocalServerArgs() {
  absl::MutexLock lock(&server_args_mu);
  return ServerArgs();
}

void AddLocalServerArgs(const std::vector<std::string>& args) {
  absl::MutexLock lock(&server_args_mu);
  ServerArgs().insert(ServerArgs().end(), args.begin(), args.end());
}

}  // namespace rill::tools
