#include "core/framework/allocator.h"

#include <algorithm>
#include <cstdlib>

namespace rill {

void* CpuAllocatorImpl::AllocateRaw(size_t alignment, size_t num_bytes) {
  alignment = std::max(alignment, kAllocatorAlignment);
  // aligned_alloc needs a size that is a multiple of the alignment.
  size_t rounded = (num_bytes + alignment - 1) / alignment * alignment;
  if (rounded < num_bytes) return nullptr;  // Overflow.
  if (rounded == 0) rounded = alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) return nullptr;
  int64_t now = in_use_.fetch_add(num_bytes) + num_bytes;
  int64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void CpuAllocatorImpl::DeallocateRaw(void* ptr, size_t num_bytes) {
  if (ptr == nullptr) return;
  in_use_.fetch_sub(num_bytes);
  std::free(ptr);
}

CpuAllocatorImpl* CpuAllocator() {
  static CpuAllocatorImpl* const allocator = new CpuAllocatorImpl;
  return allocator;
}

}  // namespace rill
