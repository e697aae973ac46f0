// Fake quantization: grids, codes, the STE mask and LSQ's step gradients.
#include "quant/fake_quant.hpp"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.hpp"
#include "quant/quantize.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

namespace {

// Rows per parallel chunk: a few thousand weights, enough to pay for a wake-up.
std::size_t row_grain(std::size_t cols) {
  return std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, cols));
}

// Calls visit(begin, length, block) for the runs of rows [r0, r1).
template <class Visit>
void for_runs(const QuantizedMatrix& layout, std::size_t r0, std::size_t r1, Visit visit) {
  const std::size_t step = layout.block_columns();
  for (std::size_t r = r0; r < r1; ++r)
    for (std::size_t run = 0, begin = 0; run < layout.runs_per_row(); ++run, begin += step)
      visit(r * layout.cols + begin, std::min(step, layout.cols - begin),
            layout.block_index(r, run));
}

// clamp(round(v)) for v = (w - offset) · levels / range, as nearest_code
// computes it, in a form the compiler vectorizes: std::round is a library
// call. round() rounds half away from zero, which is
//   t + (v - t >= 0.5) for v >= 0,   t - (v - t <= -0.5) for v < 0,
// with t = trunc(v); v - t is exact. v is first clamped to one step beyond
// the code range, which changes neither the clamped code nor whether it was
// clipped, and keeps the conversion to int in range.
void round_block(std::span<const float> w, const BlockGrid& grid, std::int32_t lowest,
                 std::int32_t highest, std::span<std::int32_t> codes,
                 std::span<std::uint8_t> inside) {
  const double offset = grid.offset, levels = grid.levels, range = grid.range;
  const double below = lowest - 1.0, above = highest + 1.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double v =
        std::clamp((static_cast<double>(w[i]) - offset) * levels / range, below, above);
    const auto t = static_cast<std::int32_t>(v);
    const double fraction = v - t;
    const std::int32_t rounded =
        t + (v >= 0.0 ? (fraction >= 0.5 ? 1 : 0) : (fraction <= -0.5 ? -1 : 0));
    const std::int32_t q = std::clamp(rounded, lowest, highest);
    codes[i] = q;
    inside[i] = rounded == q;
  }
}

}  // namespace

void fake_quantize(std::span<const float> w, const QuantizedMatrix& layout,
                   const BlockGridFunction& grid_of, FakeQuantized& out, std::span<float> w_q) {
  const Scheme scheme = layout.format.scheme;
  const int bits = layout.format.bits;
  const std::int32_t lowest = lowest_code(scheme, bits), highest = highest_code(scheme, bits);
  out.codes.resize(w.size());
  out.inside.resize(w.size());
  out.grids.resize(layout.block_count());
  if (layout.format.granularity == Granularity::tensor) out.grids[0] = grid_of(w, 0);

  parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
    for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
      if (layout.format.granularity != Granularity::tensor)
        out.grids[block] = grid_of(w.subspan(begin, length), block);
      const BlockGrid& grid = out.grids[block];
      const BlockScale stored = grid.stored();
      if (grid.usable()) {
        round_block(w.subspan(begin, length), grid, lowest, highest,
                    std::span(out.codes).subspan(begin, length),
                    std::span(out.inside).subspan(begin, length));
      } else {  // nearest_code's degenerate case: code 0, nothing clipped
        std::fill_n(out.codes.begin() + begin, length, 0);
        std::fill_n(out.inside.begin() + begin, length, 1);
      }
      const auto codes = std::span<const std::int32_t>(out.codes).subspan(begin, length);
      if (scheme == Scheme::asymmetric)
        dequantize_block_asymmetric(codes, stored, w_q.subspan(begin, length));
      else
        dequantize_block_symmetric(codes, stored, w_q.subspan(begin, length));
    });
  });
}

void straight_through(std::span<const float> grad_wq, const FakeQuantized& fq,
                      std::span<float> grad_w) {
  for (std::size_t i = 0; i < grad_w.size(); ++i) grad_w[i] = fq.inside[i] ? grad_wq[i] : 0.0f;
}

void learned_scale_gradients(std::span<const float> w, std::span<const float> grad_wq,
                             const QuantizedMatrix& layout, const FakeQuantized& fq,
                             std::span<float> grad_step, std::span<float> grad_offset) {
  const double q_p = highest_code(layout.format.scheme, layout.format.bits);
  const auto block_gradients = [&](std::size_t begin, std::size_t length, double& d_step,
                                   double& d_offset, const BlockGrid& grid) {
    const double step = grid.range / grid.levels;
    for (std::size_t i = begin; i < begin + length; ++i) {
      const double q = fq.codes[i];
      if (fq.inside[i]) {
        const double v = step > 0.0 ? (w[i] - grid.offset) / step : 0.0;
        d_step += grad_wq[i] * (q - v);
      } else {
        d_step += grad_wq[i] * q;
        d_offset += grad_wq[i];
      }
    }
  };
  if (layout.format.granularity == Granularity::tensor) {
    double d_step = 0.0, d_offset = 0.0;
    block_gradients(0, w.size(), d_step, d_offset, fq.grids[0]);
    const double g = 1.0 / std::sqrt(static_cast<double>(w.size()) * q_p);
    grad_step[0] = static_cast<float>(g * d_step);
    if (!grad_offset.empty()) grad_offset[0] = static_cast<float>(g * d_offset);
    return;
  }
  parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
    for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
      double d_step = 0.0, d_offset = 0.0;
      block_gradients(begin, length, d_step, d_offset, fq.grids[block]);
      const double g = 1.0 / std::sqrt(static_cast<double>(length) * q_p);
      grad_step[block] = static_cast<float>(g * d_step);
      if (!grad_offset.empty()) grad_offset[block] = static_cast<float>(g * d_offset);
    });
  });
}

}  // namespace tinyq
