// Fake quantization: grids, codes, the STE mask and LSQ's step gradients.
#include "quant/fake_quant.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

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

// One block: codes q = clamp(round(v)) for v = (w - offset) · levels / range
// as nearest_code computes it, the STE mask, and w_q = q / scale (+ offset)
// as dequantize computes it, all in double so every step is exact or rounds
// as there. Written in passes the compiler vectorizes (std::round is a
// library call, and a loop mixing float, double and int does not vectorize):
//   round half to even by adding and subtracting 1.5 · 2^52 (exact for
//   |v| < 2^51; v is first clamped to one step beyond the code range, which
//   changes neither the code nor whether it was clipped), then a halfway
//   case (v - even = ±0.5, exact) moved away from zero, as std::round does.
void round_block(std::span<const float> w, const BlockGrid& grid, BlockScale stored, double lowest,
                 double highest, bool has_offset, std::span<double> codes, std::span<float> inside,
                 std::span<float> w_q) {
  const double offset = grid.offset, levels = grid.levels, range = grid.range;
  const double below = lowest - 1.0, above = highest + 1.0;
  constexpr double magic = 6755399441055744.0;  // 1.5 · 2^52
  thread_local std::vector<double> rounded;
  rounded.resize(w.size());
  double* const r = rounded.data();
  for (std::size_t i = 0; i < w.size(); ++i) {
    double v = (static_cast<double>(w[i]) - offset) * levels / range;
    v = v < below ? below : (v > above ? above : v);
    const double even = (v + magic) - magic;
    const double half = v - even;
    // As arithmetic, not a select, so it vectorizes; away - even is 0 or ±1.
    const double tie = std::fabs(half) == 0.5 ? 1.0 : 0.0;
    r[i] = even + tie * ((v + std::copysign(0.5, v)) - even);
  }
  const double scale = stored.scale, block_offset = has_offset ? stored.offset : 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double q = r[i] < lowest ? lowest : (r[i] > highest ? highest : r[i]);
    codes[i] = q;
    inside[i] = q == r[i] ? 1.0f : 0.0f;
    // dequantize's expression; + 0.0 for symmetric blocks changes nothing.
    w_q[i] = static_cast<float>(q / scale + block_offset);
  }
}

}  // namespace

void fake_quantize(std::span<const float> w, const QuantizedMatrix& layout,
                   const BlockGridFunction& grid_of, FakeQuantized& out, std::span<float> w_q) {
  const Scheme scheme = layout.format.scheme;
  const int bits = layout.format.bits;
  const double lowest = lowest_code(scheme, bits), highest = highest_code(scheme, bits);
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
      const auto block_w_q = w_q.subspan(begin, length);
      if (grid.usable()) {
        round_block(w.subspan(begin, length), grid, stored, lowest, highest,
                    scheme == Scheme::asymmetric, std::span(out.codes).subspan(begin, length),
                    std::span(out.inside).subspan(begin, length), block_w_q);
      } else {  // nearest_code's degenerate case: code 0, nothing clipped
        std::fill_n(out.codes.begin() + begin, length, 0.0);
        std::fill_n(out.inside.begin() + begin, length, 1.0f);
        std::fill(block_w_q.begin(), block_w_q.end(),
                  scheme == Scheme::asymmetric ? static_cast<float>(0.0 + stored.offset) : 0.0f);
      }
    });
  });
  // Grids with 0 as a level are stored with integer zero points and come
  // back as (q - z) / s (quant/quantize.hpp): W_q must be those floats too.
  const std::vector<std::uint8_t> zero_points = exact_zero_points(out.grids, scheme);
  if (zero_points.empty()) return;
  for_runs(layout, 0, layout.rows, [&](std::size_t begin, std::size_t length, std::size_t block) {
    const double scale = out.grids[block].stored().scale;
    for (std::size_t i = begin; i < begin + length; ++i)
      w_q[i] = static_cast<float>((out.codes[i] - zero_points[block]) / scale);
  });
}

void straight_through(std::span<const float> grad_wq, const FakeQuantized& fq,
                      std::span<float> grad_w) {
  for (std::size_t i = 0; i < grad_w.size(); ++i) grad_w[i] = fq.inside[i] * grad_wq[i];
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
      if (fq.inside[i] != 0.0f) {
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
