// Table-driven CRC-32.
//
// The CRC is the remainder of the message polynomial (times x^32) divided by
// the generator polynomial over GF(2). Reflected means bit 0 of each byte is
// the highest-degree coefficient, so the register shifts right. Processing a
// byte at a time: the low 8 bits of (crc ^ byte) decide which multiple of the
// polynomial gets XORed in over the next 8 shifts, and that multiple depends
// only on those 8 bits, so it is precomputed into a 256-entry table.
#include "core/io/crc32.hpp"

#include <array>

namespace tinyq {
namespace {

constexpr std::uint32_t reflected_polynomial = 0xEDB88320u;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ reflected_polynomial : c >> 1;
    table[n] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> table = make_table();

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::uint8_t> bytes) {
  // The register holds the complement, so that leading zero bytes change the
  // result and crc32_update(0, {}) == 0.
  std::uint32_t c = ~crc;
  for (std::uint8_t b : bytes) c = table[(c ^ b) & 0xFFu] ^ (c >> 8);
  return ~c;
}

}  // namespace tinyq
