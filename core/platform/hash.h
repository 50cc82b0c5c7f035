// The string hashes TensorFlow's ops are defined by, so that a graph buckets
// strings exactly as TensorFlow does:
//  - Fingerprint64: FarmHash's 64-bit fingerprint (farmhashna's Hash64), a
//    stable hash of bytes (StringToHashBucketFast, Fingerprint).
//  - SipHash24: SipHash-2-4 under a 128-bit key, hard to collide on purpose
//    (StringToHashBucketStrong).
#ifndef RILL_CORE_PLATFORM_HASH_H_
#define RILL_CORE_PLATFORM_HASH_H_

#include <cstdint>
#include <string_view>

namespace rill {

uint64_t Fingerprint64(std::string_view bytes);
uint64_t SipHash24(uint64_t key0, uint64_t key1, std::string_view bytes);

}  // namespace rill

#endif  // RILL_CORE_PLATFORM_HASH_H_
