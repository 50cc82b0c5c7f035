#include "core/framework/allocator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

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

// Large buffers are kept when freed (up to kLargeCacheBytes in all) and
// handed out again for the same size rounded to whole pages: a step that
// makes the same big tensors every time (activations, tensors received
// from other tasks) reuses pages already mapped instead of having the
// kernel map and zero fresh ones (glibc gives every block this large its
// own mmap, and unmaps it on free). Off under AddressSanitizer, which must
// see each free.
constexpr size_t kLargeMin = 256 << 10;
constexpr size_t kPage = 4096;
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kLargeCacheBytes = 0;
#else
constexpr size_t kLargeCacheBytes = size_t{1} << 30;
#endif

class LargeCache {
 public:
  void* Take(size_t bytes) {
    absl::MutexLock lock(&mu_);
    auto it = free_.find(bytes);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    held_ -= bytes;
    return p;
  }
  // False when the cache is full: the caller frees the block.
  bool Keep(void* p, size_t bytes) {
    absl::MutexLock lock(&mu_);
    if (held_ + bytes > kLargeCacheBytes) return false;
    free_[bytes].push_back(p);
    held_ += bytes;
    return true;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<size_t, std::vector<void*>> free_ ABSL_GUARDED_BY(mu_);
  size_t held_ ABSL_GUARDED_BY(mu_) = 0;
};

LargeCache& Large() {
  static LargeCache* const cache = new LargeCache;  // Never destroyed.
  return *cache;
}

// Rounds up to the alignment; 0 on overflow.
size_t Rounded(size_t num_bytes, size_t alignment) {
  size_t rounded = (num_bytes + alignment - 1) / alignment * alignment;
  if (rounded < num_bytes) return 0;
  return rounded == 0 ? alignment : rounded;
}

// The cgroup (v2, then v1) memory limit of this process; 0 when there is
// none or it cannot be read.
int64_t CgroupMemoryLimit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") continue;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (end != text.c_str() && v > 0) return v;
  }
  return 0;
}

}  // namespace

int64_t DefaultMemoryLimit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  int64_t memory = pages > 0 && page > 0 ? int64_t{pages} * page : 0;
  const int64_t cgroup = CgroupMemoryLimit();
  if (cgroup > 0 && (memory == 0 || cgroup < memory)) memory = cgroup;
  if (memory <= 0) return int64_t{1} << 62;  // Unknown: no limit.
  return memory / 5 * 4;
}

void* CpuAllocatorImpl::AllocateRaw(size_t alignment, size_t num_bytes) {
  alignment = std::max(alignment, kAllocatorAlignment);
  // aligned_alloc needs a size that is a multiple of the alignment.
  const size_t rounded = Rounded(num_bytes, alignment);
  if (rounded == 0) return nullptr;  // Overflow.
  const int64_t limit = limit_.load();
  if (num_bytes > static_cast<size_t>(limit)) return nullptr;
  // Counted before the memory is taken, so that concurrent requests cannot
  // pass the limit together.
  const int64_t bytes = static_cast<int64_t>(num_bytes);
  const int64_t now = in_use_.fetch_add(bytes) + bytes;
  if (now > limit) {
    in_use_.fetch_sub(bytes);
    return nullptr;
  }
  void* p = nullptr;
  if (alignment == kAllocatorAlignment && rounded <= kSmallMax) {
    std::vector<void*>* list = ClassList(rounded);
    if (list != nullptr && !list->empty()) {
      p = list->back();
      list->pop_back();
    }
  } else if (rounded >= kLargeMin && alignment <= kPage) {
    // Whole pages, page-aligned: any block of the cache fits any request
    // of its size.
    const size_t pages = Rounded(num_bytes, kPage);
    if (pages == 0) {
      in_use_.fetch_sub(num_bytes);
      return nullptr;
    }
    p = Large().Take(pages);
    if (p == nullptr) p = std::aligned_alloc(kPage, pages);
  }
  if (p == nullptr) p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) {
    in_use_.fetch_sub(num_bytes);
    return nullptr;
  }
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
  } else if (rounded >= kLargeMin) {
    // At least this many whole pages, page-aligned or more (a block this
    // large was allocated that way unless it asked for a larger alignment).
    const size_t pages = Rounded(num_bytes, kPage);
    if (pages != 0 && Large().Keep(ptr, pages)) return;
  }
  std::free(ptr);
}

CpuAllocatorImpl* CpuAllocator() {
  static CpuAllocatorImpl* const allocator = new CpuAllocatorImpl;
  return allocator;
}

}  // namespace rill
