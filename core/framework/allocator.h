// Allocator: where tensor buffers come from.
//
// A device owns an Allocator; tensors keep a pointer to the one that made
// their buffer and hand the memory back to it. Implementations must be
// thread-safe. The CPU allocator aligns every buffer to 64 bytes (a cache
// line, and enough for AVX-512 loads) and counts bytes in use and the peak,
// which memory benchmarks read.
#ifndef RILL_CORE_FRAMEWORK_ALLOCATOR_H_
#define RILL_CORE_FRAMEWORK_ALLOCATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rill {

inline constexpr size_t kAllocatorAlignment = 64;

class Allocator {
 public:
  virtual ~Allocator() = default;

  virtual std::string Name() const = 0;
  // Returns num_bytes of memory aligned to `alignment` (a power of two), or
  // nullptr when the memory cannot be had. num_bytes may be 0.
  virtual void* AllocateRaw(size_t alignment, size_t num_bytes) = 0;
  // Returns memory from AllocateRaw of this allocator; nullptr is a no-op.
  virtual void DeallocateRaw(void* ptr, size_t num_bytes) = 0;
};

// Heap memory with byte accounting.
class CpuAllocatorImpl : public Allocator {
 public:
  std::string Name() const override { return "cpu"; }
  void* AllocateRaw(size_t alignment, size_t num_bytes) override;
  void DeallocateRaw(void* ptr, size_t num_bytes) override;

  int64_t bytes_in_use() const { return in_use_.load(); }
  int64_t peak_bytes_in_use() const { return peak_.load(); }
  // Starts a new peak measurement at the current usage.
  void ResetPeak() { peak_.store(in_use_.load()); }

 private:
  std::atomic<int64_t> in_use_{0};
  std::atomic<int64_t> peak_{0};
};

// The process-wide CPU allocator; never destroyed.
CpuAllocatorImpl* CpuAllocator();

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_ALLOCATOR_H_
