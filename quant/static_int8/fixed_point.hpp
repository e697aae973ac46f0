// Fixed-point requantization as gemmlowp and TFLite do it (Jacob et al. 2018,
// section 2.2): a real multiplier M > 0 is stored as a 31-bit integer M0 and a
// power of two, M ≈ M0 · 2^(shift - 31), M0 in [2^30, 2^31); applying it to an
// int32 x needs no float:
//
//   multiply_by_quantized_multiplier(x, M0, shift)
//     = rounding_divide_by_pot(srdhm(x · 2^max(shift, 0), M0), max(-shift, 0))
//
// Roundings, worked out on the integers (and pinned by tests/test_fixed_point.cpp):
//
// * saturating_rounding_doubling_high_mul(a, b) is round(a·b / 2^31): the
//   exact 64-bit product plus a nudge of 2^30 (or 1 - 2^30 when the product is
//   negative), then division by 2^31 truncating toward zero. Non-ties go to
//   the nearest integer. Ties (a·b an odd multiple of 2^30) go UP, toward +∞,
//   for both signs: +0.5 -> 1, +1.5 -> 2, but -0.5 -> 0 and -1.5 -> -1 (the
//   negative nudge is one short of a half). The one product that does not fit,
//   INT32_MIN · INT32_MIN = 2^62 (a result of 2^31), saturates to INT32_MAX.
// * rounding_divide_by_pot(x, e) is round(x / 2^e), 0 <= e <= 31: an
//   arithmetic shift plus one when the dropped bits exceed the half. Ties go
//   AWAY from zero: 3/2 -> 2, -3/2 -> -2, -1/2 -> -1, 1/2 -> 1.
//
// So the two steps do not round ties the same way; both are what TFLite's
// reference kernels compute, and tinyq's integer pipeline, its C export and
// its test reference all use exactly these definitions.
#pragma once

#include <cstdint>
#include <limits>

namespace tinyq {

struct QuantizedMultiplier {
  std::int32_t m0 = 0;     // 0, or in [2^30, 2^31)
  std::int32_t shift = 0;  // M ≈ m0 · 2^(shift - 31); in [-31, 30]

  friend bool operator==(const QuantizedMultiplier&, const QuantizedMultiplier&) = default;
};

// M0 and shift for a real multiplier m >= 0: m = q · 2^shift with q in
// [0.5, 1) (frexp), M0 = round(q · 2^31) (halves away from zero); when that
// rounds up to 2^31, M0 = 2^30 and shift + 1. m = 0, or m below 2^-32 (shift
// < -31), gives {0, 0}: the output is the zero point. Throws tinyq::Error for a
// negative, non-finite or too large (>= 2^30) m.
QuantizedMultiplier quantize_multiplier(double m);

// The three helpers are inline: they run once per output of every layer.
inline std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
  constexpr std::int32_t min = std::numeric_limits<std::int32_t>::min();
  if (a == min && b == min) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t product = std::int64_t{a} * std::int64_t{b};
  const std::int64_t nudge = product >= 0 ? (std::int64_t{1} << 30) : 1 - (std::int64_t{1} << 30);
  // Division (not a shift) truncates toward zero, which is what the nudge expects.
  return static_cast<std::int32_t>((product + nudge) / (std::int64_t{1} << 31));
}

// Requires 0 <= exponent <= 31.
inline std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// x · M rounded as above. For M >= 1 (shift > 0) the intermediate x · 2^shift
// saturates to the int32 range (TFLite leaves that overflow undefined), so a
// product past the int32 range comes out wrong but deterministic; tinyq's
// score layers use M <= 1 (up to float rounding), hidden layers whatever the
// calibration gives, and every path, the C export and the test reference
// saturate alike.
inline std::int32_t multiply_by_quantized_multiplier(std::int32_t x, QuantizedMultiplier m) {
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
