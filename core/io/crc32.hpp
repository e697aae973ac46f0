// CRC-32 as gzip, PNG and zlib's crc32() compute it (IEEE 802.3): the
// polynomial 0x04C11DB7 used bit-reflected (0xEDB88320), initial value and
// final XOR 0xFFFFFFFF. It lives in core because both data (gzip trailers)
// and nn (model-file checksums) need it, and nn must not depend on data.
#pragma once

#include <cstdint>
#include <span>

namespace tinyq {

// Incremental form: start with crc = 0 and feed the bytes in any number of
// pieces; crc32_update(crc32_update(0, a), b) == crc32(a followed by b).
std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::uint8_t> bytes);

inline std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  return crc32_update(0, bytes);
}

}  // namespace tinyq
