// The portable fake-quantization loops (quant/fake_quant_kernels.hpp).
#include "quant/fake_quant_kernels.hpp"

namespace tinyq {

namespace {

void round_generic(const BlockRounding& block, std::span<const float> w, std::int16_t* codes,
                   std::uint8_t* inside, float* w_q) {
  for (std::size_t i = 0; i < w.size(); ++i) round_exact(w[i], block, codes[i], inside[i]);
  if (block.table.empty()) return;
  const auto lowest = static_cast<std::int32_t>(block.lowest);
  for (std::size_t i = 0; i < w.size(); ++i)
    w_q[i] = block.table[static_cast<std::size_t>(codes[i] - lowest)];
}

void lsq_sums_generic(std::span<const LsqRun> runs, std::size_t length, bool, double* step_sums,
                      double* offset_sums) {
  for (std::size_t j = 0; j < runs.size(); ++j) {
    step_sums[j] = 0.0, offset_sums[j] = 0.0;
    lsq_sum_scalar(runs[j], 0, length, step_sums[j], offset_sums[j]);
  }
}

}  // namespace

FakeQuantKernels fake_quant_kernels_generic() {
  return {round_generic, lsq_sums_generic};
}

}  // namespace tinyq
