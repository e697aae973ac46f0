// The per-block loops of fake quantization (quant/fake_quant.hpp), one path
// per instruction set, chosen as the float products' are (core/kernels/
// isa.hpp, family gemm; its avx512 path runs the AVX2 loops here). Every
// path gives the same bits.
//
// Rounding: a weight's code is nearest_code's, clamp(round(v)) with
//   v = (w - offset) · levels / range   in double, halfway cases away from 0.
// The code depends on v only through round(v), so it can be found from an
// approximate v wherever v is not near a halfway point. The AVX2 path
// computes v in float, eight at a time, by one subtraction and one
// multiplication (no division): with u = 2^-24 its error is below
//   u · (c·|offset| + 3·|v|),   c = levels / range,
// so a float v further than tol = 2^-20 · (c·|offset| + max|code| + 2) from
// every halfway point rounds as the exact one does (beyond the clamped range
// the error cannot move v back inside). Weights nearer than that (about one
// in 10^5, and every exact tie) are rounded by the exact double expression.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "quant/grid.hpp"

namespace tinyq {

// One block's grid and code range, and w_q for each code lowest + k.
struct BlockRounding {
  double offset = 0.0, levels = 1.0, range = 1.0;  // a usable grid
  double lowest = 0.0, highest = 0.0;
  std::span<const float> table;  // empty: write codes and mask only
};

// round(v) for |v| < 2^51, halfway cases away from zero, as std::round:
// adding and subtracting 1.5 · 2^52 rounds half to even (and vectorizes,
// where std::round is a library call); a tie (v - even = ±0.5, exact) then
// moves away from zero, v ± 0.5 being exact.
[[gnu::always_inline]] inline double round_half_away(double v) {
  constexpr double magic = 6755399441055744.0;  // 1.5 · 2^52
  const double even = (v + magic) - magic;
  return std::fabs(v - even) == 0.5 ? v + std::copysign(0.5, v) : even;
}

// One weight, exactly as nearest_code: v is first clamped to one step beyond
// the code range (which changes neither the code nor whether it was
// clipped, and keeps |v| < 2^51; a NaN becomes the step below).
[[gnu::always_inline]] inline void round_exact(float w, const BlockRounding& b, std::int16_t& code,
                                               std::uint8_t& inside) {
  double v = (static_cast<double>(w) - b.offset) * b.levels / b.range;
  v = v > b.lowest - 1.0 ? v : b.lowest - 1.0;
  v = v < b.highest + 1.0 ? v : b.highest + 1.0;
  const double r = round_half_away(v);
  const double q = r < b.lowest ? b.lowest : (r > b.highest ? b.highest : r);
  code = static_cast<std::int16_t>(q);
  inside = q == r ? 1 : 0;
}

// One block's share of LSQ's backward pass (quant/fake_quant.hpp).
struct LsqRun {
  const float* w;
  const float* grad;  // dL/dW_q
  const std::int16_t* codes;
  const std::uint8_t* inside;
  float* grad_w;                    // the STE's dL/dW
  double offset = 0.0, step = 0.0;  // the grid's offset and range / levels
};

struct FakeQuantKernels {
  // codes[i], inside[i] (1: the gradient passes) and, with a table,
  // w_q[i] = table[codes[i] - lowest], for the weights of one block.
  void (*round)(const BlockRounding& block, std::span<const float> w, std::int16_t* codes,
                std::uint8_t* inside, float* w_q);
  // For 1 to 4 blocks of `length` weights: grad_w = inside · grad, and the
  // sums over each block, in weight order from +0.0, of the terms
  //   step:   grad · (q - v) inside,  grad · q where clipped,  v = (w - offset) / step
  //   offset: 0 inside,               grad where clipped
  // Without `offsets` (blocks with no learned offset) the offset sums may
  // be left at 0.
  void (*lsq_sums)(std::span<const LsqRun> runs, std::size_t length, bool offsets,
                   double* step_sums, double* offset_sums);
};

// Weights [begin, end) of one block, added to its sums. (Until this loop
// was written with selects, the terms were in · x + (1 - in) · y, which is x
// or y but for the sign of a zero: sums starting at +0.0 cannot see that,
// so for finite gradients the sums are the same bits.) Compiled for AVX2 it
// does the same IEEE operations (no FMA), so the same bits.
[[gnu::always_inline]] inline void lsq_sum_scalar(const LsqRun& run, std::size_t begin,
                                                  std::size_t end, double& step_sum,
                                                  double& offset_sum) {
  for (std::size_t i = begin; i < end; ++i) {
    const double q = run.codes[i], g = run.grad[i];
    const double v = run.step > 0.0 ? (static_cast<double>(run.w[i]) - run.offset) / run.step : 0.0;
    step_sum += run.inside[i] ? g * (q - v) : g * q;
    offset_sum += run.inside[i] ? 0.0 : g;
    run.grad_w[i] = static_cast<float>(run.inside[i]) * run.grad[i];
  }
}

FakeQuantKernels fake_quant_kernels_generic();
FakeQuantKernels fake_quant_kernels_avx2();  // the generic ones where there is no AVX2

}  // namespace tinyq
