// Device: somewhere kernels run, with its allocator and the resources
// (variables) that live on it.
//
// A device says which nodes it can run (SupportsNode asks the kernel
// registry for its device type); the placer only asks devices. CPU devices
// share the process's thread pool; the executor gets its runner from the
// session, so a device owns no threads.
#ifndef RILL_RUNTIME_DEVICE_DEVICE_H_
#define RILL_RUNTIME_DEVICE_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "core/framework/allocator.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/resource_mgr.h"
#include "core/graph/graph.h"
#include "runtime/device/device_name.h"

namespace rill {

class Device {
 public:
  Device(DeviceName name, Allocator* allocator);
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // The full name, "/job:localhost/replica:0/task:0/device:CPU:0".
  const std::string& name() const { return name_string_; }
  const DeviceName& parsed_name() const { return name_; }
  const std::string& device_type() const { return name_.type; }
  Allocator* allocator() const { return allocator_; }
  // A random nonzero number drawn when the device is made: a restarted
  // process has new incarnations, so transfers keyed by an old one (stale
  // Send/Recv pairs) are told apart and refused.
  uint64_t incarnation() const { return incarnation_; }
  ResourceMgr* resource_manager() { return &resources_; }

  virtual bool SupportsNode(const Node& node) const {
    return KernelRegistry::Global()->HasKernel(device_type(), node);
  }

 private:
  const DeviceName name_;
  const std::string name_string_;
  Allocator* const allocator_;
  const uint64_t incarnation_;
  ResourceMgr resources_;
};

// CPU device `id` of a task.
std::unique_ptr<Device> NewCpuDevice(const std::string& job, int replica,
                                     int task, int id);

}  // namespace rill

#endif  // RILL_RUNTIME_DEVICE_DEVICE_H_
