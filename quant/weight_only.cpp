// WeightOnlyWeights: the run-by-run rescaling around core's widen_gemm.
#include "quant/weight_only.hpp"

#include <algorithm>
#include <vector>

#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Rows per block of a thread's work: 192 float rows of 784 inputs (600 KB)
// stay in L2 while the kernel sweeps the weight panels, and widen_gemm
// widens each weight once per block, so bigger blocks widen less often. A
// multiple of the AVX-512 kernel's 12-row tile.
constexpr std::size_t rows_per_block = 192;

// Σ x[i] in 16 interleaved partial sums: independent lanes the compiler can
// keep in one vector register (a single running sum is a chain of dependent
// additions, ~4 cycles each, which made this the slowest part of forward).
float sum(const float* x, std::size_t n) {
  constexpr std::size_t lanes = 16;
  float partial[lanes] = {};
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (std::size_t l = 0; l < lanes; ++l) partial[l] += x[i + l];
  float total = 0.0f;
  for (; i < n; ++i) total += x[i];
  for (const float p : partial) total += p;
  return total;
}

}  // namespace

WeightOnlyWeights::WeightOnlyWeights(const QuantizedMatrix& weight)
    : weights_(to_signed_weights(weight)) {
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
void WeightOnlyWeights::forward(Isa isa, const Tensor& x, std::span<const float> bias,
                                Tensor& out) const {
  const std::size_t batch = x.dim(0);
  const std::size_t in = weights_.cols;
  const std::size_t outputs = weights_.rows;
  const std::size_t runs = weights_.runs;
  out.resize(Shape{batch, outputs});
  parallel_for(batch, 1, [&](std::size_t row_begin, std::size_t row_end) {
    thread_local std::vector<float> dots;
    dots.resize(std::min(rows_per_block, row_end - row_begin) * outputs);
    for (std::size_t r0 = row_begin; r0 < row_end; r0 += rows_per_block) {
      const std::size_t rows = std::min(rows_per_block, row_end - r0);
      for (std::size_t r = 0; r < rows; ++r)
        std::copy(bias.begin(), bias.end(), out.row(r0 + r).begin());
      for (std::size_t g = 0; g < runs; ++g) {
        const std::size_t begin = weights_.run_begin(g), end = weights_.run_end(g);
        const float* steps = weights_.steps.data() + g * outputs;
        const float* offsets = weights_.offsets.data() + g * outputs;
        widen_gemm(isa, rows, x.data() + r0 * in, in, panels_, begin, end, dots.data(), outputs);
        for (std::size_t r = 0; r < rows; ++r) {
          const float* xr = x.data() + (r0 + r) * in;
          const float x_sum = has_offsets_ ? sum(xr + begin, end - begin) : 0.0f;
          const float* d = dots.data() + r * outputs;
          float* y = out.data() + (r0 + r) * outputs;
          for (std::size_t j = 0; j < outputs; ++j) y[j] += steps[j] * d[j] + offsets[j] * x_sum;
        }
      }
    }
  });
}

}  // namespace tinyq
