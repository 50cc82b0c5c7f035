#include "core/framework/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace rill {
namespace {

// Small buffers (scalars, short vectors: most tensors of a step by count)
// are recycled through a per-thread free list per 64-byte size class, so a
// step of 10^4 scalar kernels does not pay glibc's aligned allocation and
// free for each. Blocks freed on another thread join that thread's lists;
// each list is capped, the rest goes back to the system.
constexpr size_t kSmallMax = 1024;
constexpr size_t kClasses = kSmallMax / kAllocatorAlignment;
constexpr size_t kPerClassCap = 256;

// Trivially destructible, so still readable while (and after) the thread's
// other thread_locals are destroyed: a tensor freed that late bypasses the
// cache.
thread_local bool cache_gone = false;

struct SmallCache {
  std::vector<void*> free[kClasses];
  ~SmallCache() {
    cache_gone = true;
    for (auto& list : free) {
      for (void* p : list) std::free(p);
    }
  }
};

// The size class list for `rounded` bytes on this thread; null once the
// thread is exiting.
std::vector<void*>* ClassList(size_t rounded) {
  if (cache_gone) return nullptr;
  thread_local SmallCache cache;
  return &cache.free[rounded / kAllocatorAlignment - 1];
}

// Rounds up to the alignment; 0 on overflow.
size_t Rounded(size_t num_bytes, size_t alignment) {
  size_t rounded = (num_bytes + alignment - 1) / alignment * alignment;
  if (rounded < num_bytes) return 0;
  return rounded == 0 ? alignment : rounded;
}

}  // namespace

void* CpuAllocatorImpl::AllocateRaw(size_t alignment, size_t num_bytes) {
  alignment = std::max(alignment, kAllocatorAlignment);
  // aligned_alloc needs a size that is a multiple of the alignment.
  const size_t rounded = Rounded(num_bytes, alignment);
  if (rounded == 0) return nullptr;  // Overflow.
  void* p = nullptr;
  if (alignment == kAllocatorAlignment && rounded <= kSmallMax) {
    std::vector<void*>* list = ClassList(rounded);
    if (list != nullptr && !list->empty()) {
      p = list->back();
      list->pop_back();
    }
  }
  if (p == nullptr) p = std::aligned_alloc(alignment, rounded);
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
  // A block of this size class is at least Rounded(num_bytes, 64) bytes
  // (more if it was allocated with a larger alignment).
  const size_t rounded = Rounded(num_bytes, kAllocatorAlignment);
  if (rounded != 0 && rounded <= kSmallMax) {
    std::vector<void*>* list = ClassList(rounded);
    if (list != nullptr && list->size() < kPerClassCap) {
      list->push_back(ptr);
      return;
    }
  }
  std::free(ptr);
}

CpuAllocatorImpl* CpuAllocator() {
  static CpuAllocatorImpl* const allocator = new CpuAllocatorImpl;
  return allocator;
}

}  // namespace rill
