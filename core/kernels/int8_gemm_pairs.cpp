// int8_gemm_pairs: packing the weights in pairs of inputs, and choosing
// the kernel (the AVX2 one in int8_gemm_pairs_avx2.cpp, int8_gemm's tiles on
// the other paths).

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

namespace tinyq {

Int8PairPanels pack_int8_pair_panels(std::size_t n, std::size_t k, const std::int8_t* b,
                                     std::size_t ldb) {
  Int8PairPanels packed;
  packed.bytes = pack_int8_panels(n, k, b, ldb);  // checks k
  packed.k_pairs = (k + 1) / 2;
  if (!supported(KernelFamily::int8_gemm, Isa::avx2)) return packed;
  // Panel P, pair p: 32 bytes, outputs 16P..16P+7 then 16P+8..16P+15, each
  // with its weights for inputs 2p and 2p+1. Missing outputs and inputs are 0.
  constexpr std::size_t pair_values = 2 * int8_panel_columns;
  packed.pairs.assign(packed.panels() * packed.k_pairs * pair_values, 0);
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t panel = (j / int8_panel_columns) * packed.k_pairs * pair_values;
    const std::size_t column = j % int8_panel_columns;
    for (std::size_t p = 0; p < k; ++p)
      packed.pairs[panel + (p / 2) * pair_values + 2 * column + p % 2] = b[j * ldb + p];
  }
  return packed;
}

void int8_gemm_pairs(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                     const Int8PairPanels& b, std::size_t j_begin, std::size_t j_end,
                     std::int32_t* c, std::size_t ldc) {
  const PanelRange panels = panels_of_columns("int8_gemm_pairs", j_begin, j_end, b.n());
  require_supported(KernelFamily::int8_gemm, isa);
  if (isa == Isa::avx2)
    int8_gemm_pairs_avx2(m, a, lda, b, panels.begin, panels.end, c, ldc);
  else
    int8_gemm_panel_range(isa, m, a, lda, b.bytes, panels.begin, panels.end, c, ldc);
}

}  // namespace tinyq
