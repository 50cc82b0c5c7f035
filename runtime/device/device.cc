#include "runtime/device/device.h"

namespace rill {

Device::Device(DeviceName name, Allocator* allocator)
    : name_(std::move(name)),
      name_string_(name_.ToString()),
      allocator_(allocator) {}

std::unique_ptr<Device> NewCpuDevice(const std::string& job, int replica,
                                     int task, int id) {
  return std::make_unique<Device>(
      DeviceName::Full(job, replica, task, kDeviceCpu, id), CpuAllocator());
}

}  // namespace rill
