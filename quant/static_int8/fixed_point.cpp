// The fixed-point helpers; the roundings are explained in fixed_point.hpp.
#include "quant/static_int8/fixed_point.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace tinyq {

std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
  constexpr std::int32_t min = std::numeric_limits<std::int32_t>::min();
  if (a == min && b == min) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t product = std::int64_t{a} * std::int64_t{b};
  const std::int64_t nudge = product >= 0 ? (std::int64_t{1} << 30) : 1 - (std::int64_t{1} << 30);
  // Division (not a shift) truncates toward zero, which is what the nudge expects.
  return static_cast<std::int32_t>((product + nudge) / (std::int64_t{1} << 31));
}

std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

QuantizedMultiplier quantize_multiplier(double m) {
  if (!std::isfinite(m) || m < 0.0 || m >= 1073741824.0)
    throw Error("quantize_multiplier: expected a finite multiplier in [0, 2^30), found " +
                std::to_string(m));
  if (m == 0.0) return {};
  int shift = 0;
  const double q = std::frexp(m, &shift);  // m = q · 2^shift, q in [0.5, 1)
  std::int64_t m0 = std::llround(q * 2147483648.0);
  if (m0 == (std::int64_t{1} << 31)) {
    m0 /= 2;
    ++shift;
  }
  if (shift < -31) return {};
  return {static_cast<std::int32_t>(m0), static_cast<std::int32_t>(shift)};
}

std::int32_t multiply_by_quantized_multiplier(std::int32_t x, QuantizedMultiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  std::int64_t shifted = std::int64_t{x} * (std::int64_t{1} << left);
  if (shifted > std::numeric_limits<std::int32_t>::max())
    shifted = std::numeric_limits<std::int32_t>::max();
  if (shifted < std::numeric_limits<std::int32_t>::min())
    shifted = std::numeric_limits<std::int32_t>::min();
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(static_cast<std::int32_t>(shifted), m.m0), right);
}

}  // namespace tinyq
