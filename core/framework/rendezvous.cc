#include "core/framework/rendezvous.h"

#include "absl/strings/str_cat.h"

namespace rill {

std::string Rendezvous::CreateKey(absl::string_view send_device,
                                  int64_t incarnation,
                                  absl::string_view recv_device,
                                  absl::string_view tensor_name) {
  return absl::StrCat(send_device, ";",
                      absl::Hex(incarnation, absl::kZeroPad16), ";",
                      recv_device, ";", tensor_name, ";0:0");
}

}  // namespace rill
