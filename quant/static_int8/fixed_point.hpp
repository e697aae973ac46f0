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

namespace tinyq {

struct QuantizedMultiplier {
  std::int32_t m0 = 0;     // 0, or in [2^30, 2^31)
  std::int32_t shift = 0;  // M ≈ m0 · 2^(shift - 31); in [-31, 30]

  friend bool operator==(const QuantizedMultiplier&, const QuantizedMultiplier&) = default;
};

std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b);

// Requires 0 <= exponent <= 31.
std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent);

// M0 and shift for a real multiplier m >= 0: m = q · 2^shift with q in
// [0.5, 1) (frexp), M0 = round(q · 2^31) (halves away from zero); when that
// rounds up to 2^31, M0 = 2^30 and shift + 1. m = 0, or m below 2^-32 (shift
// < -31), gives {0, 0}: the output is the zero point. Throws tinyq::Error for a
// negative, non-finite or too large (>= 2^30) m.
QuantizedMultiplier quantize_multiplier(double m);

// x · M rounded as above. For M >= 1 (shift > 0) the intermediate x · 2^shift
// saturates to the int32 range (TFLite leaves that overflow undefined), so a
// product past the int32 range comes out wrong but deterministic; tinyq's
// layers only use M >= 1 where |x · 2^shift| fits.
std::int32_t multiply_by_quantized_multiplier(std::int32_t x, QuantizedMultiplier m);

}  // namespace tinyq
