// CRC-32C (Castagnoli), the checksum of checkpoint files: the SSE4.2 crc32
// instruction where the CPU has it, a table otherwise.
#ifndef RILL_CORE_PLATFORM_CRC32C_H_
#define RILL_CORE_PLATFORM_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace rill {

// The CRC-32C of data[0, n) continued from `crc` (0 to start).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) {
  return Crc32cExtend(0, data, n);
}

}  // namespace rill

#endif  // RILL_CORE_PLATFORM_CRC32C_H_
