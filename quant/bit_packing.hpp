// Packing integer codes of 2 to 8 bits into bytes, several per byte.
//
// Bit order: a row of codes is one little-endian bit stream. Code k occupies
// stream bits k*bits .. k*bits + bits - 1, least significant bit first, and
// stream bit p is bit (p % 8) of byte p / 8. So at 4 bits code 0 is the low
// nibble of byte 0 and code 1 the high nibble; at 3 bits code 2 straddles
// bytes 0 and 1; at 8 bits code k is simply byte k.
//
// Signed codes are stored as `bits`-bit two's complement and sign-extended
// when unpacked, so 8-bit signed codes are plain int8 bytes.
//
// Every row starts at a byte boundary (a kernel can jump to row j at
// j * packed_row_bytes) and unused bits at the end of a row are zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tinyq {

// Bytes one row of `count` codes takes: ceil(count * bits / 8).
std::size_t packed_row_bytes(std::size_t count, int bits);

// Writes codes into out (packed_row_bytes(codes.size(), bits) bytes). Each
// code must fit: 0 .. 2^bits - 1 unsigned, -2^(bits-1) .. 2^(bits-1) - 1 signed.
void pack_codes(std::span<const std::int32_t> codes, int bits, bool is_signed,
                std::span<std::uint8_t> out);

// Reads out.size() codes from packed.
void unpack_codes(std::span<const std::uint8_t> packed, int bits, bool is_signed,
                  std::span<std::int32_t> out);
// The same, straight to float (what the matrix kernel multiplies by).
void unpack_codes(std::span<const std::uint8_t> packed, int bits, bool is_signed,
                  std::span<float> out);

}  // namespace tinyq
