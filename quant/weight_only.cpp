// WeightOnlyWeights: the run-by-run rescaling around core's widen_gemm (5 to
// 8 bits), or the packed codes for widen_gemm_lowbit (2 to 4 bits).
#include "quant/weight_only.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"
#include "quant/bit_packing.hpp"

namespace tinyq {

namespace {

// Rows per block of a thread's work: 192 float rows of 784 inputs (600 KB)
// stay in L2 while the kernel sweeps the weight panels, and widen_gemm
// widens each weight once per block, so bigger blocks widen less often. A
// multiple of the AVX-512 kernel's 12-row tile.
constexpr std::size_t rows_per_block = 192;

// Widening 8-bit codes or unpacking 2- to 4-bit ones to floats in
// registers, one row runs about 26,000 multiply-adds a microsecond on a core
// (Intel Xeon, AVX-512: a 784 × 256 layer at 4 bits in 7.6 µs), a tenth of
// the int8 kernels' pace that min_products_per_thread assumes. A hand-over
// costs about a microsecond, so a layer is split from 32 Ki multiply-adds
// per thread: at batch 1 of the 784-256-128-10 MLP the first layer is split
// and the two small ones run on the calling thread (4 bits, 2 threads:
// splitting all three took 8.2-9.1 µs a sample, this 6.9).
constexpr std::size_t widening_products_per_thread = 32768;

// The codes as fields u < 2^bits with c = u - shift, each block's weights
// w = c · step + offset: asymmetric codes are u = q itself (shift 0) with the
// block's own offset, w = q / s + m; symmetric q is stored as
// u = q + 2^(bits-1) with shift 2^(bits-1), so c = q, and no offset.
//
// Not the 8-bit path's c = q - 128 with 128 steps folded into the offset
// (to_signed_weights): that makes both terms of step · Σ x·c + offset · Σ x
// large and of opposite signs for 2- to 4-bit codes (c in -128..-113), and
// their difference lost about five bits. The v1 fixture q_asym_group16_3
// (tests/fixtures/v1) against a forward in double on dequantize()'s
// weights, avx2 path: 5.6e-5 off with the folded offset, 1.3e-6 with q.
LowBitPanels low_bit_panels(const QuantizedMatrix& weight) {
  const int bits = weight.format.bits;
  const bool is_signed = weight.is_signed();
  const std::int32_t code_shift = is_signed ? std::int32_t{1} << (bits - 1) : 0;
  const std::size_t rows = weight.rows, cols = weight.cols, runs = weight.runs_per_row();
  std::vector<std::uint8_t> codes(rows * cols);
  std::vector<float> steps(rows * runs), offsets(rows * runs);
  std::vector<std::int32_t> row(cols);
  for (std::size_t j = 0; j < rows; ++j) {
    weight.unpack_row(j, std::span(row));  // either layout (ternary: five per byte)
    for (std::size_t i = 0; i < cols; ++i)
      codes[j * cols + i] = static_cast<std::uint8_t>(row[i] + code_shift);
    for (std::size_t g = 0; g < runs; ++g) {
      const std::size_t block = weight.block_index(j, g);
      steps[j * runs + g] = 1.0f / weight.scales[block];
      offsets[j * runs + g] = is_signed ? 0.0f : weight.offsets[block];
    }
  }
  return pack_lowbit_panels(rows, cols, bits, weight.block_columns(), codes.data(), cols,
                            code_shift, steps.data(), offsets.data());
}

}  // namespace

WeightOnlyWeights::WeightOnlyWeights(const QuantizedMatrix& weight) {
  if (weight.format.bits <= 4) {
    low_bit_ = low_bit_panels(weight);
    weights_.rows = weight.rows;
    weights_.cols = weight.cols;
    return;
  }
  weights_ = to_signed_weights(weight);
  panels_ = pack_widen_panels(weights_.rows, weights_.cols, weights_.codes.data(), weights_.cols);
  weights_.codes = {};
  has_offsets_ = std::any_of(weights_.offsets.begin(), weights_.offsets.end(),
                             [](float offset) { return offset != 0.0f; });
}

// Inside run g of row j, w_ji = c_ji · t_jg + o_jg (SignedWeights), so
//
//   Σ_{i∈g} x_ri · w_ji = t_jg · Σ_i x_ri · c_ji  +  o_jg · Σ_i x_ri
//
// The first sum is widen_gemm's (codes widened in registers, never stored as
// floats); the second is the same for every j and summed once per row and
// run. y_rj = Σ_g (that) + b_j. For symmetric schemes o = 0.
void WeightOnlyWeights::forward(Isa isa, const Tensor& x, std::span<const float> bias, Tensor& out,
                                bool relu) const {
  const std::size_t batch = x.dim(0);
  const std::size_t in = weights_.cols;
  const std::size_t outputs = weights_.rows;
  const std::size_t runs = weights_.runs;
  out.resize(Shape{batch, outputs});
  // Rows [r0, r0 + rows) × the outputs of panels [panel_begin, panel_end):
  // each output is the same sum whichever block computes it.
  const auto low_bit_block = [&](std::size_t r0, std::size_t rows, std::size_t panel_begin,
                                 std::size_t panel_end) {
    lowbit_gemm_panels(isa, rows, x.data() + r0 * in, in, *low_bit_, panel_begin, panel_end,
                       bias.data(), out.data() + r0 * outputs, outputs);
  };
  const auto eight_bit_block = [&](std::size_t r0, std::size_t rows, std::size_t panel_begin,
                                   std::size_t panel_end) {
    thread_local std::vector<float> dots;
    // Grown only: layers of different widths share it.
    dots.resize(std::max(dots.size(), rows * outputs));
    const std::size_t j0 = panel_begin * widen_panel_columns;
    const std::size_t j1 = std::min(outputs, panel_end * widen_panel_columns);
    for (std::size_t r = 0; r < rows; ++r)
      std::copy(bias.begin() + j0, bias.begin() + j1, out.row(r0 + r).begin() + j0);
    for (std::size_t g = 0; g < runs; ++g) {
      const std::size_t begin = weights_.run_begin(g), end = weights_.run_end(g);
      const float* steps = weights_.steps.data() + g * outputs;
      const float* offsets = weights_.offsets.data() + g * outputs;
      widen_gemm_panels(isa, rows, x.data() + r0 * in, in, panels_, begin, end, panel_begin,
                        panel_end, dots.data(), outputs);
      for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x.data() + (r0 + r) * in;
        const float x_sum = has_offsets_ ? interleaved_sum(xr + begin, end - begin) : 0.0f;
        const float* d = dots.data() + r * outputs;
        float* y = out.data() + (r0 + r) * outputs;
        for (std::size_t j = j0; j < j1; ++j) y[j] += steps[j] * d[j] + offsets[j] * x_sum;
      }
    }
  };
  const std::size_t panels = low_bit_ ? low_bit_->panels() : panels_.panels();
  const std::size_t panel_columns = low_bit_ ? lowbit_panel_columns : widen_panel_columns;
  const auto block = [&](std::size_t r0, std::size_t rows, std::size_t panel_begin,
                         std::size_t panel_end) {
    if (low_bit_)
      low_bit_block(r0, rows, panel_begin, panel_end);
    else
      eight_bit_block(r0, rows, panel_begin, panel_end);
    if (!relu) return;
    // The block is still in this core's cache. Relu::forward's expression,
    // so the same bits (NaN and -0 become +0). Whole Fashion-MNIST test set,
    // 4-bit weights: the separate ReLU pass had taken 3% of the time.
    const std::size_t j0 = panel_begin * panel_columns;
    const std::size_t j1 = std::min(outputs, panel_end * panel_columns);
    for (std::size_t r = r0; r < r0 + rows; ++r) {
      float* y = out.data() + r * outputs;
      for (std::size_t j = j0; j < j1; ++j) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
    }
  };
  // A few rows (batch-1 latency): split the outputs between threads
  // instead, or all but one would wait; but only a layer that gives each
  // thread more work than the hand-over costs (widening_products_per_thread).
  // Low-bit panels are split in pairs, as their words lie (an odd first
  // panel costs the AVX-512 kernel its partner's sums too).
  if (batch < 2 * num_threads()) {
    parallel_for_products(panels, low_bit_ ? 2 : 1, batch * in * outputs,
                          widening_products_per_thread,
                          [&](std::size_t panel_begin, std::size_t panel_end) {
                            block(0, batch, panel_begin, panel_end);
                          });
    return;
  }
  parallel_for(batch, 1, [&](std::size_t row_begin, std::size_t row_end) {
    for (std::size_t r0 = row_begin; r0 < row_end; r0 += rows_per_block)
      block(r0, std::min(rows_per_block, row_end - r0), 0, panels);
  });
}

}  // namespace tinyq
