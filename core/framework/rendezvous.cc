#include "core/framework/rendezvous.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rill {

std::string Rendezvous::CreateKey(absl::string_view send_device,
                                  int64_t incarnation,
                                  absl::string_view recv_device,
                                  absl::string_view tensor_name) {
  return absl::StrCat(send_device, ";",
                      absl::Hex(incarnation, absl::kZeroPad16), ";",
                      recv_device, ";", tensor_name, ";0:0");
}

absl::StatusOr<Rendezvous::ParsedKey> Rendezvous::ParseKey(
    absl::string_view key) {
  std::vector<absl::string_view> parts = absl::StrSplit(key, ';');
  ParsedKey out;
  if (parts.size() != 5 || parts[0].empty() || parts[2].empty() ||
      parts[3].empty() ||
      !absl::SimpleHexAtoi(parts[1], &out.send_device_incarnation)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' is not a rendezvous key"));
  }
  out.send_device = std::string(parts[0]);
  out.recv_device = std::string(parts[2]);
  out.tensor_name = std::string(parts[3]);
  out.frame_iter = std::string(parts[4]);
  return out;
}

}  // namespace rill
