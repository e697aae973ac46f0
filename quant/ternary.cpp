// Base-3 packing of ternary codes (layout in the header).
#include "quant/ternary.hpp"

#include <array>

#include "core/error.hpp"

namespace tinyq {

namespace {

constexpr int codes_per_byte = 5;

// Every byte value's five codes, worked out once at compile time: unpacking
// is then one table lookup per five weights instead of five divisions.
struct Digits {
  std::array<std::array<std::int8_t, codes_per_byte>, 243> codes{};
  constexpr Digits() {
    for (int byte = 0; byte < 243; ++byte)
      for (int k = 0, rest = byte; k < codes_per_byte; ++k, rest /= 3)
        codes[byte][k] = static_cast<std::int8_t>(rest % 3 - 1);
  }
};
constexpr Digits digits;

}  // namespace

std::size_t ternary_row_bytes(std::size_t count) {
  return (count + codes_per_byte - 1) / codes_per_byte;
}

void pack_ternary(std::span<const std::int32_t> codes, std::span<std::uint8_t> out) {
  if (out.size() != ternary_row_bytes(codes.size()))
    throw Error("ternary packing: " + std::to_string(codes.size()) + " codes need " +
                std::to_string(ternary_row_bytes(codes.size())) + " bytes, found " +
                std::to_string(out.size()));
  for (std::size_t b = 0; b < out.size(); ++b) {
    unsigned value = 0;
    for (std::size_t k = 0, power = 1; k < codes_per_byte; ++k, power *= 3) {
      const std::size_t index = b * codes_per_byte + k;
      if (index >= codes.size()) break;
      const std::int32_t q = codes[index];
      if (q < -1 || q > 1)
        throw Error("ternary packing: code " + std::to_string(q) + " at index " +
                    std::to_string(index) + " is not -1, 0 or 1");
      value += static_cast<unsigned>(q + 1) * static_cast<unsigned>(power);
    }
    out[b] = static_cast<std::uint8_t>(value);
  }
}

void unpack_ternary(std::span<const std::uint8_t> packed, std::span<std::int32_t> out) {
  if (packed.size() < ternary_row_bytes(out.size()))
    throw Error("ternary unpacking: " + std::to_string(out.size()) + " codes need " +
                std::to_string(ternary_row_bytes(out.size())) + " bytes, found " +
                std::to_string(packed.size()));
  const std::size_t whole = out.size() / codes_per_byte;
  for (std::size_t b = 0; b < whole; ++b) {
    // A byte above 242 has no digits; check_consistent refuses it in files,
    // and here it reads as 242's so the lookup stays in the table.
    const auto& five = digits.codes[packed[b] < 243 ? packed[b] : 242];
    for (std::size_t k = 0; k < codes_per_byte; ++k) out[b * codes_per_byte + k] = five[k];
  }
  if (whole * codes_per_byte < out.size()) {
    const auto& five = digits.codes[packed[whole] < 243 ? packed[whole] : 242];
    for (std::size_t k = 0; whole * codes_per_byte + k < out.size(); ++k)
      out[whole * codes_per_byte + k] = five[k];
  }
}

std::optional<std::string> ternary_row_problem(std::span<const std::uint8_t> packed,
                                               std::size_t count) {
  for (std::size_t b = 0; b < packed.size(); ++b)
    if (packed[b] >= 243)
      return "byte " + std::to_string(b) + " is " + std::to_string(packed[b]) +
             ", above 242 (3^5 - 1), the largest five ternary codes";
  const std::size_t used = count % codes_per_byte;
  if (used != 0 && !packed.empty()) {
    unsigned limit = 1;
    for (std::size_t k = 0; k < used; ++k) limit *= 3;
    if (packed.back() >= limit)
      return "the last byte " + std::to_string(packed.back()) + " has nonzero unused digits (" +
             std::to_string(used) + " codes, so it must be below " + std::to_string(limit) + ")";
  }
  return std::nullopt;
}

}  // namespace tinyq
