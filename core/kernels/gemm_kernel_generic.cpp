// The portable micro-kernel: plain C++ loops over a small tile that the
// compiler can vectorize for whatever the baseline target is (SSE2 on
// x86-64, NEON on AArch64). It is the reference point for the wide kernels
// and the path on CPUs without AVX2.
#include <cmath>

#include "core/kernels/gemm_kernels.hpp"

namespace tinyq {

namespace {

// 4×8: eight accumulators of four floats fill half of the 16 SSE registers,
// leaving room for the B row and the broadcast values.
constexpr std::size_t generic_mr = 4;
constexpr std::size_t generic_nr = 8;

// A_ROWS: A is read in place from its rows (run_a_rows), element (i, p) at
// a[i * a_stride + p]; otherwise from a panel, at a[p * a_stride + i].
template <bool a_rows>
void kernel_generic(std::size_t k, const float* a, std::size_t a_stride, const float* b,
                    std::size_t b_stride, float* c, std::size_t ldc, std::size_t rows,
                    std::size_t cols, float beta) {
  float tile[generic_mr][generic_nr] = {};
  for (std::size_t p = 0; p < k; ++p) {
    for (std::size_t i = 0; i < generic_mr; ++i) {
      const float ai = a_rows ? a[(i < rows ? i : 0) * a_stride + p] : a[p * a_stride + i];
      for (std::size_t j = 0; j < generic_nr; ++j) tile[i][j] += ai * b[j];
    }
    b += b_stride;
  }
  merge_tile(&tile[0][0], generic_nr, c, ldc, rows, cols, beta);
}

}  // namespace

void merge_tile(const float* tile, std::size_t nr, float* c, std::size_t ldc, std::size_t rows,
                std::size_t cols, float beta) {
  for (std::size_t i = 0; i < rows; ++i) {
    float* c_row = c + i * ldc;
    const float* t_row = tile + i * nr;
    if (beta == 0.0f) {
      for (std::size_t j = 0; j < cols; ++j) c_row[j] = t_row[j];
    } else {
      for (std::size_t j = 0; j < cols; ++j) c_row[j] = std::fma(beta, c_row[j], t_row[j]);
    }
  }
}

// The rule of merge_tile, transposed (fma(1, c, t) is c + t rounded once,
// so beta 1, every k block after the first, is a plain add).
void merge_tile_transposed(const float* tile, std::size_t nr, float* c, std::size_t ldc,
                           std::size_t rows, std::size_t cols, float beta) {
  for (std::size_t j = 0; j < cols; ++j) {
    float* c_column = c + j * ldc;
    const float* t = tile + j;
    if (beta == 0.0f)
      for (std::size_t i = 0; i < rows; ++i) c_column[i] = t[i * nr];
    else if (beta == 1.0f)
      for (std::size_t i = 0; i < rows; ++i) c_column[i] += t[i * nr];
    else
      for (std::size_t i = 0; i < rows; ++i) c_column[i] = std::fma(beta, c_column[i], t[i * nr]);
  }
}

MicroKernel micro_kernel_generic() {
  return {generic_mr,
          generic_nr,
          kernel_generic<false>,
          kernel_generic<true>,
          transpose_copy_generic,
          merge_tile_transposed};
}

}  // namespace tinyq
