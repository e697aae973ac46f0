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

void lsq_terms_generic(const LsqBlock& block, std::span<const float> w, std::span<const float> grad,
                       const std::int16_t* codes, const std::uint8_t* inside, double* step_terms,
                       double* offset_terms) {
  lsq_terms_body(block, w, grad, codes, inside, step_terms, offset_terms);
}

}  // namespace

FakeQuantKernels fake_quant_kernels_generic() {
  return {round_generic, lsq_terms_generic};
}

}  // namespace tinyq
