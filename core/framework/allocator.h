// Allocator: where tensor buffers come from.
//
// A device owns an Allocator; tensors keep a pointer to the one that made
// their buffer and hand the memory back to it. Implementations must be
// thread-safe. The CPU allocator aligns every buffer to 64 bytes (a cache
// line, and enough for AVX-512 loads) and counts bytes in use and the peak,
// which memory benchmarks read, and refuses an allocation that would take
// the bytes in use past its limit (--memory_limit), so that a step asking
// for more memory than the process may use fails with RESOURCE_EXHAUSTED
// instead of bringing the kernel's OOM killer.
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

// Four fifths of the memory this process can have: the machine's physical
// memory, or its cgroup's limit when that is lower.
int64_t DefaultMemoryLimit();

// Heap memory with byte accounting.
class CpuAllocatorImpl : public Allocator {
 public:
  CpuAllocatorImpl() : limit_(DefaultMemoryLimit()) {}
  std::string Name() const override { return "cpu"; }
  void* AllocateRaw(size_t alignment, size_t num_bytes) override;
  void DeallocateRaw(void* ptr, size_t num_bytes) override;

  int64_t bytes_in_use() const { return in_use_.load(); }
  int64_t peak_bytes_in_use() const { return peak_.load(); }
  // Starts a new peak measurement at the current usage.
  void ResetPeak() { peak_.store(in_use_.load()); }

  // The most bytes in use at once; AllocateRaw returns nullptr for a
  // request past it. Starts at DefaultMemoryLimit().
  int64_t limit() const { return limit_.load(); }
  void set_limit(int64_t bytes) { limit_.store(bytes); }

 private:
  std::atomic<int64_t> in_use_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> limit_;
};

// The process-wide CPU allocator; never destroyed.
CpuAllocatorImpl* CpuAllocator();

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_ALLOCATOR_H_
