// TensorFlow-style device names: "/job:worker/replica:0/task:1/device:CPU:0".
//
// A name may be partial: any of job, replica, task, device type and device
// id may be missing ("/job:ps", "/device:CPU:1", "/cpu:0" in the legacy
// form, or "" for no constraint). The placer matches partial requests
// against the full names of real devices.
#ifndef RILL_RUNTIME_DEVICE_DEVICE_NAME_H_
#define RILL_RUNTIME_DEVICE_DEVICE_NAME_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rill {

struct DeviceName {
  bool has_job = false;
  std::string job;
  bool has_replica = false;
  int replica = 0;
  bool has_task = false;
  int task = 0;
  bool has_type = false;
  std::string type;  // "CPU", "GPU".
  bool has_id = false;
  int id = 0;

  // Parses full and partial names, in the "/device:CPU:0" and legacy
  // "/cpu:0" forms, with "*" accepted for an unset id. INVALID_ARGUMENT
  // naming the string when it is malformed.
  static absl::StatusOr<DeviceName> Parse(absl::string_view name);
  // A full name: every field set.
  static DeviceName Full(absl::string_view job, int replica, int task,
                         absl::string_view type, int id);

  bool IsFullySpecified() const {
    return has_job && has_replica && has_task && has_type && has_id;
  }
  // The canonical form, fields in order, only those set.
  std::string ToString() const;
  // "/job:j/replica:r/task:t", the address-space part.
  std::string TaskName() const;

  // True when every field set in `request` equals the field of this name
  // (device types compare case-insensitively, as TensorFlow's do).
  bool Matches(const DeviceName& request) const;
  // Fills the fields unset here from `other`; INVALID_ARGUMENT when a field
  // set in both differs.
  absl::Status MergeFrom(const DeviceName& other);
};

}  // namespace rill

#endif  // RILL_RUNTIME_DEVICE_DEVICE_NAME_H_
