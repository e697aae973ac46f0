// DynamicInt8Weights: per-row activation quantization and the rescaling of
// int32 sums around core's int8_gemm.
#include "quant/dynamic_int8.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/aligned_allocator.hpp"
#include "core/cloned_loops.hpp"
#include "core/error.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Rows per block of a thread's work: the block's u8 activations (48 × 784
// bytes) and int32 sums (48 × 256 × 4 bytes) stay in L2 while the kernel
// sweeps the weight panels. A multiple of the kernels' tile heights (6 on
// AVX-512 VNNI, 4 on AVX2).
constexpr std::size_t rows_per_block = 48;

// y[j] = (first run: bias[j], else y[j]) + step · (t_j · (s_j - z · C_j) + o_j · A),
// the last line of the algebra below, then, after the last run of a layer
// followed by a ReLU, y[j] = max(y[j], 0). It runs once per output, so it is
// compiled for AVX-512, AVX2 and baseline and picked at load time
// (core/cloned_loops.hpp), every clone rounding as the baseline does. Before
// contraction was switched off, g++ fused its products and sums into FMAs
// in the AVX-512 clone, and an AVX-512 machine gave other bits than the
// others whatever TINYQ_ISA said (the v1 model fixtures caught it under
// TINYQ_ISA=generic on a Zen 5).
TINYQ_EXACT_CLONES_BEGIN
TINYQ_CLONED void rescale_row(std::size_t outputs, const std::int32_t* s, std::int32_t zero_point,
                              const std::int32_t* code_sums, float step, const float* steps,
                              const float* offsets, float activation_term, const float* bias,
                              bool relu, float* y) {
  TINYQ_NO_CONTRACT
  for (std::size_t j = 0; j < outputs; ++j) {
    const float dot = static_cast<float>(s[j] - zero_point * code_sums[j]);
    const float sum =
        (bias != nullptr ? bias[j] : y[j]) + step * (steps[j] * dot + offsets[j] * activation_term);
    // Relu::forward's expression, so the same bits (NaN and -0 become +0).
    y[j] = !relu || sum > 0.0f ? sum : 0.0f;
  }
}
TINYQ_EXACT_CLONES_END

// Relu::forward's expression (NaN and -0 become +0) on rows [row, row +
// rows) and columns [col_begin, col_end) of y.
void relu_in_place(Tensor& y, std::size_t row, std::size_t rows, std::size_t col_begin,
                   std::size_t col_end) {
  const std::size_t cols = y.dim(1);
  for (std::size_t r = row; r < row + rows; ++r) {
    float* v = y.data() + r * cols;
    for (std::size_t j = col_begin; j < col_end; ++j) v[j] = v[j] > 0.0f ? v[j] : 0.0f;
  }
}

// Quantized rows as lowbit_int_gemm takes them: each row's step and zero
// point split out of `quantization` into arrays of this thread's (valid
// until its next call).
U7Rows u7_rows(std::span<const RowQuantization> quantization, const std::uint8_t* a,
               std::size_t lda, const std::int32_t* activation_sums) {
  thread_local std::vector<float> steps;
  thread_local std::vector<std::int32_t> zero_points;
  steps.resize(quantization.size());
  zero_points.resize(quantization.size());
  for (std::size_t r = 0; r < quantization.size(); ++r) {
    steps[r] = quantization[r].step;
    zero_points[r] = quantization[r].zero_point;
  }
  return {quantization.size(), a, lda, steps.data(), zero_points.data(), activation_sums};
}

}  // namespace

RowQuantization quantize_row(Isa isa, std::span<const float> x, std::uint8_t* a,
                             std::size_t run_length, std::span<std::int32_t> run_sums) {
  float lo, hi;
  float_range(isa, x.data(), x.size(), lo, hi);
  if (!(hi > lo)) {  // all zero: every code is the zero point 0
    std::fill(a, a + x.size(), std::uint8_t{0});
    std::fill(run_sums.begin(), run_sums.end(), 0);
    return {1.0f, 0};
  }
  const auto top = static_cast<float>(dynamic_activation_top);
  const float step = (hi - lo) / top;
  const float inverse = 1.0f / step;
  const float zero_point = std::min(top, std::nearbyint(-lo * inverse));
  affine_to_u8_runs(isa, x.data(), x.size(), run_length, inverse, zero_point, top, a, run_sums);
  return {step, static_cast<std::int32_t>(zero_point)};
}

DynamicInt8Weights::DynamicInt8Weights(const QuantizedMatrix& weight)
    : weights_(to_signed_weights(weight)) {
  const int bits = weight.format.bits;
  const std::size_t word_inputs = bits == 2 ? 8 : 4;
  if (!weight.is_ternary() && bits <= 4 && weights_.cols > 0 &&
      (weights_.runs == 1 || weights_.run_length % word_inputs == 0)) {
    // Back from the signed codes c to the stored fields u = c - c_min, the
    // shift folded into the offset: w = c·t + o = u·t + (o + c_min·t).
    const std::int32_t c_min = weight.is_signed() ? -(1 << (bits - 1)) : -128;
    const std::size_t rows = weights_.rows, cols = weights_.cols, runs = weights_.runs;
    std::vector<std::uint8_t> fields(rows * cols);
    for (std::size_t i = 0; i < fields.size(); ++i)
      fields[i] = static_cast<std::uint8_t>(weights_.codes[i] - c_min);
    std::vector<float> steps(rows * runs), offsets(rows * runs);
    for (std::size_t j = 0; j < rows; ++j)
      for (std::size_t g = 0; g < runs; ++g) {
        const float step = weights_.steps[g * rows + j];
        steps[j * runs + g] = step;
        offsets[j * runs + g] = weights_.offsets[g * rows + j] + static_cast<float>(c_min) * step;
      }
    lowbit_ = pack_lowbit_int_panels(rows, cols, bits, weights_.run_length, fields.data(), cols,
                                     steps.data(), offsets.data());
  } else {
    panels_ = pack_int8_panels(weights_.rows, weights_.cols, weights_.codes.data(), weights_.cols);
  }
  weights_.codes = {};
}

// With x_ri ≈ (a_ri - z_r) · d_r (quantize_row) and, inside run g of row j,
// w_ji = c_ji · t_jg + o_jg (SignedWeights):
//
//   Σ_{i∈g} x_ri · w_ji
//     = d_r · t_jg · Σ_i (a_ri - z_r) · c_ji   +  d_r · o_jg · Σ_i (a_ri - z_r)
//     = d_r · [ t_jg · (S_rjg - z_r · C_jg)  +  o_jg · (A_rg - z_r · n_g) ]
//
// S_rjg = Σ_i a_ri · c_ji is int8_gemm's exact int32 sum, C_jg = Σ_i c_ji is
// precomputed, A_rg = Σ_i a_ri is summed here and n_g is the run length.
// Only the last line is float; y_rj = Σ_g (that) + b_j.
void DynamicInt8Weights::forward(Isa isa, const Tensor& x, std::span<const float> bias, Tensor& out,
                                 bool relu) const {
  const std::size_t batch = x.dim(0);
  const std::size_t outputs = weights_.rows;
  const std::size_t runs = weights_.runs;
  const std::size_t in = weights_.cols;
  const std::size_t lda = lowbit_ ? lowbit_->padded_k() : int8_row_stride(isa, panels_.padded_k());
  out.resize(Shape{batch, outputs});
  if (lowbit_ && batch < 2 * num_threads()) {
    small_batch_lowbit(isa, x, bias, out, relu);
    return;
  }
  const auto body = [&](std::size_t row_begin, std::size_t row_end) {
    thread_local std::vector<std::uint8_t, AlignedAllocator<std::uint8_t, 64>> a;
    thread_local std::vector<std::int32_t> sums;
    thread_local std::vector<RowQuantization> quantization;
    thread_local std::vector<std::int32_t> activation_sums;  // [rows, runs]
    // The buffers only grow: each layer of a model sizes them differently,
    // and growing one back (value-initializing it) cost a batch-1 image
    // more than its first layer's products. Bytes past `in` must be zero
    // (the kernel reads whole 4-byte groups); quantize_row writes the others.
    const std::size_t block_rows = std::min(rows_per_block, row_end - row_begin);
    a.resize(std::max(a.size(), block_rows * lda));
    for (std::size_t r = 0; r < block_rows; ++r)
      std::fill(a.begin() + static_cast<std::ptrdiff_t>(r * lda + in),
                a.begin() + static_cast<std::ptrdiff_t>((r + 1) * lda), std::uint8_t{0});
    if (!lowbit_)  // lowbit_int_gemm keeps its own
      sums.resize(std::max(sums.size(), rows_per_block * outputs));
    quantization.resize(std::max(quantization.size(), rows_per_block));
    activation_sums.resize(std::max(activation_sums.size(), rows_per_block * runs));
    for (std::size_t r0 = row_begin; r0 < row_end; r0 += rows_per_block) {
      const std::size_t rows = std::min(rows_per_block, row_end - r0);
      for (std::size_t r = 0; r < rows; ++r) {
        // Finding a row's range is the one pass that waits on memory (the
        // float rows stream in once, 31 MB for the whole test set); ask for
        // the row two ahead now, into L1, so its loads overlap this row's
        // and the next one's work. Whole Fashion-MNIST test set, 2 threads,
        // Zen 5, 15 alternated rounds, against asking for the same row of
        // the next 48-row block into L2, as before: 0.85 of the time with
        // VNNI (0.97 on mnist-10k's 2,000 images, which stay in L3), 0.95 on
        // the AVX2 path, 0.93 with 4-bit weights. One row ahead into L1
        // measured 0.86; 2, 4, 8 and 16 ahead into L2 0.88, 0.88, 0.89 and
        // 0.94; no prefetch at all, 1.16.
        if (r + 2 < row_end - r0) {
          const auto* next = reinterpret_cast<const char*>(x.row(r0 + r + 2).data());
          for (std::size_t byte = 0; byte < in * sizeof(float); byte += 64)
            __builtin_prefetch(next + byte, 0, 3);
        }
        quantization[r] = quantize_row(isa, x.row(r0 + r), a.data() + r * lda, weights_.run_length,
                                       std::span(activation_sums).subspan(r * runs, runs));
      }
      if (lowbit_) {
        lowbit_int_gemm(
            isa,
            u7_rows(std::span(quantization).first(rows), a.data(), lda, activation_sums.data()),
            *lowbit_, bias.empty() ? nullptr : bias.data(), out.data() + r0 * outputs, outputs);
        // The block is still in this core's cache; a separate ReLU pass had
        // taken 5.6% of a whole-set pass with 4-bit weights.
        if (relu) relu_in_place(out, r0, rows, 0, outputs);
        continue;
      }
      for (std::size_t g = 0; g < runs; ++g) {
        const std::size_t begin = weights_.run_begin(g), end = weights_.run_end(g);
        int8_gemm_u7(isa, rows, a.data(), lda, panels_, begin, end, sums.data(), outputs);
        const auto length = static_cast<std::int32_t>(end - begin);
        const float* steps = weights_.steps.data() + g * outputs;
        const float* offsets = weights_.offsets.data() + g * outputs;
        const std::int32_t* code_sums = weights_.code_sums.data() + g * outputs;
        for (std::size_t r = 0; r < rows; ++r) {
          const auto [step, zero_point] = quantization[r];
          const std::int32_t* s = sums.data() + r * outputs;
          const float activation_term =
              static_cast<float>(activation_sums[r * runs + g] - zero_point * length);
          float* y = out.data() + (r0 + r) * outputs;
          // The ReLU comes with the last run, as the row is written: no pass of
          // the ReLU layer over the whole output, nor a second pass over the
          // row. A ReLU pass per row after rescale_row had measured 0.95 of
          // the time on Fashion-MNIST, 0.97 on MNIST, against the layer; on
          // Zen 5 with VNNI it then spent 8% of the time waiting to load the
          // row the rescale had just stored, and folding it in took 0.96-0.99
          // of the time on either set (whole test set, 2 threads, two runs of
          // 15-21 alternated rounds in one process).
          rescale_row(outputs, s, zero_point, code_sums, step, steps, offsets, activation_term,
                      g == 0 ? bias.data() : nullptr, relu && g + 1 == runs, y);
        }
      }
    }
  };
  // Chunks of 4 blocks, claimed one at a time, so that a thread slowed by
  // the host does fewer (whole test set, 2 threads, against one chunk per
  // thread, alternated: median time 0.97-0.98, 0.77-0.80 in the rounds
  // where a core was held up); never fewer chunks than threads.
  parallel_for_chunks(
      batch, std::min(4 * rows_per_block, (batch + num_threads() - 1) / num_threads()), body);
}

// Too few rows for a block per thread (batch 1 above all): the rows are
// quantized once, then, if the layer is large enough, the threads share the
// outputs, panel by panel. Each output is the kernel's same sum whatever
// the split.
void DynamicInt8Weights::small_batch_lowbit(Isa isa, const Tensor& x, std::span<const float> bias,
                                            Tensor& out, bool relu) const {
  const std::size_t batch = x.dim(0), runs = weights_.runs, lda = lowbit_->padded_k();
  thread_local std::vector<std::uint8_t> a;
  thread_local std::vector<RowQuantization> quantization;
  thread_local std::vector<std::int32_t> activation_sums;
  a.assign(batch * lda, 0);
  quantization.resize(batch);
  activation_sums.resize(batch * runs);
  for (std::size_t r = 0; r < batch; ++r)
    quantization[r] = quantize_row(isa, x.row(r), a.data() + r * lda, weights_.run_length,
                                   std::span(activation_sums).subspan(r * runs, runs));
  const U7Rows rows = u7_rows(quantization, a.data(), lda, activation_sums.data());
  const auto panel_range = [&](std::size_t panel_begin, std::size_t panel_end) {
    lowbit_int_gemm_panels(isa, rows, *lowbit_, panel_begin, panel_end,
                           bias.empty() ? nullptr : bias.data(), out.data(), weights_.rows);
    if (relu)
      relu_in_place(out, 0, batch, panel_begin * lowbit_int_panel_columns,
                    std::min(weights_.rows, panel_end * lowbit_int_panel_columns));
  };
  // As the static int8 network does: below min_products_per_thread
  // (core/thread_pool.hpp) the layer runs on the calling thread. Batch 1, 2
  // threads, 2000 test images, 10 alternated rounds against splitting every
  // layer: 0.68 (4-bit) and 0.55 (2-bit) of the time on Fashion-MNIST, 0.49
  // and 0.64 on MNIST; 0.80 and 0.65 (4-bit) on the AVX2 path.
  parallel_for_products(lowbit_->panels(), 1, batch * lda * weights_.rows, panel_range);
}

}  // namespace tinyq
