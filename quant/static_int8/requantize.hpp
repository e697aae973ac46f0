// The requantization step of a static int8 layer, one row at a time:
//
//   out_j = clamp(M_j(acc_j + bias_j), lo, hi) + offset      (u8 codes)
//   out_j = M_j(acc_j + bias_j)                              (int32 scores)
//
// with M_j = multiply_by_quantized_multiplier (fixed_point.hpp). Every Isa
// gives the same integers: the avx2 and avx512 paths do 8 outputs per step
// with AVX2 (64-bit products by vpmuldq, per-output shifts by vpsravd) when
// every M_j < 1 (no left shift), the plain loop otherwise and for the rest.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/kernels/isa.hpp"
#include "quant/static_int8/fixed_point.hpp"

namespace tinyq {

// A layer's multipliers split into arrays, as the vector path reads them.
struct RequantTable {
  std::size_t outputs = 0;
  const std::int32_t* bias;        // folded int32 bias
  const std::int32_t* m0;          // M0_j
  const std::int32_t* shift;       // shift_j (M = M0 · 2^(shift - 31))
  bool right_shifts_only = false;  // every shift_j <= 0
};

void requantize_codes(Isa isa, const RequantTable& table, const std::int32_t* acc, std::int32_t lo,
                      std::int32_t hi, std::int32_t offset, std::uint8_t* codes);
void requantize_scores(Isa isa, const RequantTable& table, const std::int32_t* acc,
                       std::int32_t* scores);

}  // namespace tinyq
