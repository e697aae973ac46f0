// Bit-stream packing of sub-byte codes (layout documented in the header).
#include "quant/bit_packing.hpp"

#include <string>

#include "core/error.hpp"

namespace tinyq {

namespace {

void check_bits(int bits) {
  if (bits < 1 || bits > 8)
    throw Error("bit packing: width must be 1..8, found " + std::to_string(bits));
}

// Field k of the stream, as raw bits. A field spans at most two bytes.
std::uint32_t read_field(std::span<const std::uint8_t> packed, std::size_t k, int bits) {
  const std::size_t bit = k * static_cast<std::size_t>(bits);
  const std::size_t byte = bit / 8;
  std::uint32_t window = packed[byte];
  if (byte + 1 < packed.size()) window |= static_cast<std::uint32_t>(packed[byte + 1]) << 8;
  return (window >> (bit % 8)) & ((1u << bits) - 1u);
}

std::int32_t to_code(std::uint32_t field, int bits, bool is_signed) {
  const auto value = static_cast<std::int32_t>(field);
  if (is_signed && (field >> (bits - 1)) != 0) return value - (1 << bits);
  return value;
}

template <class T>
void unpack_into(std::span<const std::uint8_t> packed, int bits, bool is_signed, std::span<T> out) {
  check_bits(bits);
  if (packed.size() < packed_row_bytes(out.size(), bits))
    throw Error("bit packing: " + std::to_string(out.size()) + " codes of " + std::to_string(bits) +
                " bits need " + std::to_string(packed_row_bytes(out.size(), bits)) +
                " bytes, found " + std::to_string(packed.size()));
  if (bits == 8) {  // the common case, one code per byte
    for (std::size_t k = 0; k < out.size(); ++k)
      out[k] =
          static_cast<T>(is_signed ? static_cast<std::int32_t>(static_cast<std::int8_t>(packed[k]))
                                   : static_cast<std::int32_t>(packed[k]));
    return;
  }
  for (std::size_t k = 0; k < out.size(); ++k)
    out[k] = static_cast<T>(to_code(read_field(packed, k, bits), bits, is_signed));
}

}  // namespace

std::size_t packed_row_bytes(std::size_t count, int bits) {
  return (count * static_cast<std::size_t>(bits) + 7) / 8;
}

void pack_codes(std::span<const std::int32_t> codes, int bits, bool is_signed,
                std::span<std::uint8_t> out) {
  check_bits(bits);
  if (out.size() != packed_row_bytes(codes.size(), bits))
    throw Error("bit packing: " + std::to_string(codes.size()) + " codes of " +
                std::to_string(bits) + " bits need " +
                std::to_string(packed_row_bytes(codes.size(), bits)) + " bytes, found " +
                std::to_string(out.size()));
  const std::int32_t lowest = is_signed ? -(1 << (bits - 1)) : 0;
  const std::int32_t highest = is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  for (auto& byte : out) byte = 0;
  for (std::size_t k = 0; k < codes.size(); ++k) {
    if (codes[k] < lowest || codes[k] > highest)
      throw Error("bit packing: code " + std::to_string(codes[k]) + " at index " +
                  std::to_string(k) + " does not fit in " + std::to_string(bits) + " bits");
    // Two's complement: the low `bits` bits of the int are the field.
    const std::uint32_t field = static_cast<std::uint32_t>(codes[k]) & ((1u << bits) - 1u);
    const std::size_t bit = k * static_cast<std::size_t>(bits);
    const std::uint32_t shifted = field << (bit % 8);
    out[bit / 8] |= static_cast<std::uint8_t>(shifted & 0xFFu);
    if (shifted > 0xFFu) out[bit / 8 + 1] |= static_cast<std::uint8_t>(shifted >> 8);
  }
}

void unpack_codes(std::span<const std::uint8_t> packed, int bits, bool is_signed,
                  std::span<std::int32_t> out) {
  unpack_into(packed, bits, is_signed, out);
}

void unpack_codes(std::span<const std::uint8_t> packed, int bits, bool is_signed,
                  std::span<float> out) {
  unpack_into(packed, bits, is_signed, out);
}

}  // namespace tinyq
