// Rendezvous: where a _Send leaves a tensor and the matching _Recv picks it
// up, by key. Either side may come first. A step owns one; aborting it fails
// every pending and future receive, so a failed step never leaves a _Recv
// waiting.
//
// The key is TensorFlow's: "send_device;incarnation;recv_device;
// tensor_name;frame:iter", so the same keys serve in-process transfers and,
// later, transfers between tasks.
#ifndef RILL_CORE_FRAMEWORK_RENDEZVOUS_H_
#define RILL_CORE_FRAMEWORK_RENDEZVOUS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/framework/tensor.h"

namespace rill {

class Rendezvous {
 public:
  // The status, the tensor, and whether it is dead (sent from an untaken
  // branch of a Switch: no value, only the news that none will come).
  using DoneCallback =
      std::function<void(const absl::Status&, const Tensor&, bool is_dead)>;

  virtual ~Rendezvous() = default;

  static std::string CreateKey(absl::string_view send_device,
                               int64_t incarnation,
                               absl::string_view recv_device,
                               absl::string_view tensor_name);
  // The parts of a key CreateKey made (or TensorFlow did).
  struct ParsedKey {
    std::string send_device;
    uint64_t send_device_incarnation = 0;
    std::string recv_device;
    std::string tensor_name;
    std::string frame_iter;  // "frame:iteration".
  };
  // INVALID_ARGUMENT naming the key when it has not five ';'-separated
  // parts with a hexadecimal incarnation and non-empty devices and name.
  static absl::StatusOr<ParsedKey> ParseKey(absl::string_view key);

  // ALREADY_EXISTS when the key was sent already in this step; the abort
  // status after StartAbort.
  virtual absl::Status Send(const std::string& key, const Tensor& value,
                            bool is_dead = false) = 0;
  // Calls `done` once, when the tensor arrives or the rendezvous aborts;
  // possibly inline.
  virtual void RecvAsync(const std::string& key, DoneCallback done) = 0;
  virtual void StartAbort(const absl::Status& status) = 0;
};

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_RENDEZVOUS_H_
