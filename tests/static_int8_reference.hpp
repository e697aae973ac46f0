// A plain scalar reference of the static int8 pipeline, written for reading:
// int64 arithmetic straight from the definitions, sharing no code with
// quant/static_int8 beyond the parameter struct. Every path is tested
// against it (tests/test_static_int8.cpp, tests/test_static_int8_export.sh).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "quant/static_int8/static_dense.hpp"

namespace tinyq::test {

constexpr std::int64_t reference_int32_min = -2147483648LL;
constexpr std::int64_t reference_int32_max = 2147483647LL;

// floor(n / d) for d > 0 (C++ division truncates toward zero instead).
inline std::int64_t floor_divide(std::int64_t n, std::int64_t d) {
  return n >= 0 ? n / d : -((-n + d - 1) / d);
}

// round(a·b / 2^31), ties toward +infinity; 2^31 (only INT32_MIN²) saturates.
inline std::int64_t reference_high_mul(std::int64_t a, std::int64_t b) {
  if (a == reference_int32_min && b == reference_int32_min) return reference_int32_max;
  return floor_divide(a * b + (std::int64_t{1} << 30), std::int64_t{1} << 31);
}

// round(x / 2^e), ties away from zero.
inline std::int64_t reference_divide_by_pot(std::int64_t x, int e) {
  if (e == 0) return x;
  const std::int64_t magnitude = ((x < 0 ? -x : x) + (std::int64_t{1} << (e - 1))) >> e;
  return x < 0 ? -magnitude : magnitude;
}

// x · M0 · 2^(shift - 31): the left shift saturated to int32 first.
inline std::int64_t reference_requantize(std::int64_t x, QuantizedMultiplier m) {
  if (m.shift > 0)
    x = std::clamp(x * (std::int64_t{1} << m.shift), reference_int32_min, reference_int32_max);
  return reference_divide_by_pot(reference_high_mul(x, m.m0), m.shift > 0 ? 0 : -m.shift);
}

// One layer on one row of input codes: u8 codes, or int32 scores.
inline std::vector<std::int64_t> reference_layer(const StaticInt8Dense::Params& p,
                                                 const std::vector<std::int64_t>& a) {
  std::vector<std::int64_t> y(p.out);
  for (std::size_t j = 0; j < p.out; ++j) {
    std::int64_t acc = p.bias[j];
    for (std::size_t i = 0; i < p.in; ++i)
      acc += (a[i] - p.input.zero_point) * std::int64_t{p.weight[j * p.in + i]};
    const std::int64_t scaled = reference_requantize(acc, p.multiplier[j]);
    if (p.scores)
      y[j] = scaled;
    else
      y[j] = std::clamp<std::int64_t>(scaled + p.output.zero_point,
                                      p.relu ? p.output.zero_point : 0, 255);
  }
  return y;
}

// Scores of one image through every layer.
inline std::vector<std::int64_t> reference_scores(
    const std::vector<StaticInt8Dense::Params>& layers, const std::uint8_t* pixels) {
  std::vector<std::int64_t> a(pixels, pixels + layers.front().in);
  for (const auto& p : layers) a = reference_layer(p, a);
  return a;
}

}  // namespace tinyq::test
