#include "runtime/device/device.h"

#include <random>

#include "absl/synchronization/mutex.h"

namespace rill {

namespace {
uint64_t NewIncarnation() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* rng = new std::mt19937_64(std::random_device{}());
  absl::MutexLock lock(&mu);
  uint64_t v = 0;
  while (v == 0) v = (*rng)();
  return v;
}
}  // namespace

Device::Device(DeviceName name, Allocator* allocator)
    : name_(std::move(name)),
      name_string_(name_.ToString()),
      allocator_(allocator),
      incarnation_(NewIncarnation()) {}

std::unique_ptr<Device> NewCpuDevice(const std::string& job, int replica,
                                     int task, int id) {
  return std::make_unique<Device>(
      DeviceName::Full(job, replica, task, kDeviceCpu, id), CpuAllocator());
}

}  // namespace rill
