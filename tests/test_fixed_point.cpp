// The fixed-point helpers of static int8 (quant/static_int8/fixed_point.hpp)
// on values worked out by hand: exact products, ties of both signs, the
// saturating corner INT32_MIN · INT32_MIN, and multipliers that round up
// to the next power of two.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "core/error.hpp"
#include "quant/static_int8/fixed_point.hpp"

using namespace tinyq;

namespace {
constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t two_30 = 1 << 30;
}  // namespace

TEST_CASE("srdhm is a·b / 2^31 when that is exact") {
  CHECK(saturating_rounding_doubling_high_mul(two_30, two_30) == (1 << 29));
  CHECK(saturating_rounding_doubling_high_mul(4, two_30) == 2);
  CHECK(saturating_rounding_doubling_high_mul(-4, two_30) == -2);
  CHECK(saturating_rounding_doubling_high_mul(0, int32_min) == 0);
  // -2^31 · (2^31 - 1) / 2^31 = -(2^31 - 1), exactly.
  CHECK(saturating_rounding_doubling_high_mul(int32_min, int32_max) == -int32_max);
}

TEST_CASE("srdhm rounds non-ties to the nearest integer") {
  // 3 · 2^29 / 2^31 = 0.75 -> 1;  -0.75 -> -1;  (2^31-1)^2 / 2^31 = 2^31 - 2 + 2^-31 -> 2^31 - 2.
  CHECK(saturating_rounding_doubling_high_mul(3, 1 << 29) == 1);
  CHECK(saturating_rounding_doubling_high_mul(-3, 1 << 29) == -1);
  CHECK(saturating_rounding_doubling_high_mul(int32_max, int32_max) == int32_max - 1);
  // 1 · 2^29 / 2^31 = 0.25 -> 0 and -0.25 -> 0.
  CHECK(saturating_rounding_doubling_high_mul(1, 1 << 29) == 0);
  CHECK(saturating_rounding_doubling_high_mul(-1, 1 << 29) == 0);
}

TEST_CASE("srdhm rounds ties toward +infinity for both signs") {
  CHECK(saturating_rounding_doubling_high_mul(1, two_30) == 1);    // +0.5 -> 1
  CHECK(saturating_rounding_doubling_high_mul(3, two_30) == 2);    // +1.5 -> 2
  CHECK(saturating_rounding_doubling_high_mul(5, two_30) == 3);    // +2.5 -> 3
  CHECK(saturating_rounding_doubling_high_mul(-1, two_30) == 0);   // -0.5 -> 0
  CHECK(saturating_rounding_doubling_high_mul(-3, two_30) == -1);  // -1.5 -> -1
  CHECK(saturating_rounding_doubling_high_mul(two_30, -5) == -2);  // -2.5 -> -2
}

TEST_CASE("srdhm saturates INT32_MIN times INT32_MIN to INT32_MAX") {
  // 2^62 / 2^31 = 2^31 does not fit in int32.
  CHECK(saturating_rounding_doubling_high_mul(int32_min, int32_min) == int32_max);
  // Its neighbours are exact: -2^31 · -(2^31 - 1) / 2^31 = 2^31 - 1.
  CHECK(saturating_rounding_doubling_high_mul(int32_min, -int32_max) == int32_max);
}

TEST_CASE("rounding_divide_by_pot rounds ties away from zero") {
  CHECK(rounding_divide_by_pot(7, 0) == 7);
  CHECK(rounding_divide_by_pot(1, 1) == 1);    // 0.5 -> 1
  CHECK(rounding_divide_by_pot(-1, 1) == -1);  // -0.5 -> -1
  CHECK(rounding_divide_by_pot(3, 1) == 2);    // 1.5 -> 2
  CHECK(rounding_divide_by_pot(-3, 1) == -2);  // -1.5 -> -2
  CHECK(rounding_divide_by_pot(6, 2) == 2);    // 1.5 -> 2
  CHECK(rounding_divide_by_pot(-6, 2) == -2);  // -1.5 -> -2
  CHECK(rounding_divide_by_pot(5, 2) == 1);    // 1.25 -> 1
  CHECK(rounding_divide_by_pot(-5, 2) == -1);  // -1.25 -> -1
  CHECK(rounding_divide_by_pot(7, 2) == 2);    // 1.75 -> 2
  CHECK(rounding_divide_by_pot(-7, 2) == -2);  // -1.75 -> -2
}

TEST_CASE("rounding_divide_by_pot at the ends of int32 and exponent 31") {
  CHECK(rounding_divide_by_pot(int32_min, 31) == -1);
  CHECK(rounding_divide_by_pot(int32_max, 31) == 1);  // 0.99999 -> 1
  CHECK(rounding_divide_by_pot(two_30, 31) == 1);     // 0.5 -> 1
  CHECK(rounding_divide_by_pot(-two_30, 31) == -1);   // -0.5 -> -1
  CHECK(rounding_divide_by_pot(two_30 - 1, 31) == 0);
  CHECK(rounding_divide_by_pot(int32_min, 1) == -(1 << 30));
}

TEST_CASE("quantize_multiplier splits m into a 31-bit M0 and a power of two") {
  CHECK(quantize_multiplier(0.5) == QuantizedMultiplier{two_30, 0});
  CHECK(quantize_multiplier(0.75) == QuantizedMultiplier{3 << 29, 0});
  CHECK(quantize_multiplier(1.0) == QuantizedMultiplier{two_30, 1});
  CHECK(quantize_multiplier(0.25) == QuantizedMultiplier{two_30, -1});
  // 0.1 = 0.8 · 2^-3; 0.8 · 2^31 = 1717986918.4 -> 1717986918.
  CHECK(quantize_multiplier(0.1) == QuantizedMultiplier{1717986918, -3});
  CHECK(quantize_multiplier(0.0) == QuantizedMultiplier{0, 0});
}

TEST_CASE("quantize_multiplier carries a mantissa that rounds up to 2^31") {
  // q = 1 - 2^-40 at shift 0: q · 2^31 rounds to 2^31, so M0 = 2^30, shift 1.
  CHECK(quantize_multiplier(1.0 - 0x1p-40) == QuantizedMultiplier{two_30, 1});
  CHECK(quantize_multiplier(0x1p-32) == QuantizedMultiplier{two_30, -31});
  CHECK(quantize_multiplier(0x1p-33) == QuantizedMultiplier{0, 0});  // below 2^-32: zero
}

TEST_CASE("quantize_multiplier refuses negative, non-finite and huge multipliers") {
  CHECK_THROWS_AS(quantize_multiplier(-0.5), Error);
  CHECK_THROWS_AS(quantize_multiplier(std::numeric_limits<double>::infinity()), Error);
  CHECK_THROWS_AS(quantize_multiplier(std::numeric_limits<double>::quiet_NaN()), Error);
  CHECK_THROWS_AS(quantize_multiplier(0x1p30), Error);
}

TEST_CASE("multiply_by_quantized_multiplier rounds twice as TFLite does") {
  // 100 · 0.1: srdhm(100, 1717986918) = round(79.99999998) = 80, then 80 / 2^3 = 10.
  CHECK(multiply_by_quantized_multiplier(100, quantize_multiplier(0.1)) == 10);
  // M = 0.25 = 2^30 · 2^(-1-31): 6 -> srdhm 3 -> 3/2 = 1.5 -> 2 (away from zero).
  CHECK(multiply_by_quantized_multiplier(6, {two_30, -1}) == 2);
  CHECK(multiply_by_quantized_multiplier(-6, {two_30, -1}) == -2);
  // -2 · 0.25: srdhm gives -1 exactly, then -1/2 = -0.5 -> -1.
  CHECK(multiply_by_quantized_multiplier(-2, {two_30, -1}) == -1);
  // -1 · 0.25: srdhm's tie -0.5 goes up to 0, so the result is 0.
  CHECK(multiply_by_quantized_multiplier(-1, {two_30, -1}) == 0);
  CHECK(multiply_by_quantized_multiplier(12345, {0, 0}) == 0);
}

TEST_CASE("multiply_by_quantized_multiplier shifts left for M >= 1, saturating") {
  // M = 1 = 2^30 · 2^(1-31): x -> 2x -> srdhm(2x, 2^30) = x.
  CHECK(multiply_by_quantized_multiplier(-12345, quantize_multiplier(1.0)) == -12345);
  CHECK(multiply_by_quantized_multiplier(7, quantize_multiplier(3.0)) == 21);
  // 2^30 · 2 overflows int32: the intermediate saturates to INT32_MAX, then
  // srdhm(INT32_MAX, 2^30) = 1073741823.5 -> 2^30.
  CHECK(multiply_by_quantized_multiplier(two_30, quantize_multiplier(1.0)) == two_30);
  CHECK(multiply_by_quantized_multiplier(int32_min, quantize_multiplier(1.0)) == -two_30);
}
