// The AVX2 micro-kernel: a 6×16 tile of C in 12 ymm registers.
//
// Register budget (16 ymm): 6 rows × 2 vectors of 8 floats = 12
// accumulators, 2 for the current row of the B sliver, one for the
// broadcast a value. Per step of k: 2 loads, 6 broadcasts, 12 FMAs, and
// 12 independent accumulators cover the FMA latency of two units.
//
//        b0 (8)   b1 (8)
//   a0 [ acc00 ][ acc01 ]
//   …
//   a5 [ acc50 ][ acc51 ]
//
// kernel_avx2_a_rows is the same tile with A read in place from six rows
// (gemm_kernels.hpp): the same FMAs, only the broadcasts' addresses differ.
//
// Compiled with a target attribute, so the binary still runs without AVX2.
#include "core/kernels/gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t avx2_mr = 6;
constexpr std::size_t avx2_nr = 16;

// Stores the finished tile with the merge rule of gemm_kernels.hpp.
TINYQ_AVX2 inline __attribute__((always_inline)) void store_tile(__m256 (&acc)[avx2_mr][2],
                                                                 float* c, std::size_t ldc,
                                                                 std::size_t rows, std::size_t cols,
                                                                 float beta) {
  if (rows == avx2_mr && cols == avx2_nr) {
    const __m256 beta_v = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (std::size_t i = 0; i < avx2_mr; ++i) {
      float* c_row = c + i * ldc;
      if (beta != 0.0f) {
        acc[i][0] = _mm256_fmadd_ps(beta_v, _mm256_loadu_ps(c_row), acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(beta_v, _mm256_loadu_ps(c_row + 8), acc[i][1]);
      }
      _mm256_storeu_ps(c_row, acc[i][0]);
      _mm256_storeu_ps(c_row + 8, acc[i][1]);
    }
    return;
  }
  alignas(32) float tile[avx2_mr * avx2_nr];
#pragma GCC unroll 6
  for (std::size_t i = 0; i < avx2_mr; ++i) {
    _mm256_store_ps(tile + i * avx2_nr, acc[i][0]);
    _mm256_store_ps(tile + i * avx2_nr + 8, acc[i][1]);
  }
  merge_tile(tile, avx2_nr, c, ldc, rows, cols, beta);
}

// One step of k: the tile gains the outer product of six A values and a B row.
TINYQ_AVX2 inline __attribute__((always_inline)) void outer_product(
    __m256 (&acc)[avx2_mr][2], const float* const (&a)[avx2_mr], const float* b) {
  const __m256 b0 = _mm256_loadu_ps(b);
  const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
  for (std::size_t i = 0; i < avx2_mr; ++i) {
    const __m256 ai = _mm256_broadcast_ss(a[i]);
    acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
    acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
  }
}

TINYQ_AVX2 void kernel_avx2(std::size_t k, const float* a, std::size_t a_stride, const float* b,
                            std::size_t b_stride, float* c, std::size_t ldc, std::size_t rows,
                            std::size_t cols, float beta) {
  __m256 acc[avx2_mr][2];
#pragma GCC unroll 6
  for (std::size_t i = 0; i < avx2_mr; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();

  for (std::size_t p = 0; p < k; ++p) {
    const float* const column[avx2_mr] = {a, a + 1, a + 2, a + 3, a + 4, a + 5};
    outer_product(acc, column, b);
    a += a_stride;
    b += b_stride;
  }
  store_tile(acc, c, ldc, rows, cols, beta);
}

// The same tile with A read in place from its rows (see gemm_kernels.hpp):
// the FMAs are those of kernel_avx2, in the same order, so the bits are too.
TINYQ_AVX2 void kernel_avx2_a_rows(std::size_t k, const float* a, std::size_t lda, const float* b,
                                   std::size_t b_stride, float* c, std::size_t ldc,
                                   std::size_t rows, std::size_t cols, float beta) {
  __m256 acc[avx2_mr][2];
#pragma GCC unroll 6
  for (std::size_t i = 0; i < avx2_mr; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();

  const float* row[avx2_mr];
  for (std::size_t i = 0; i < avx2_mr; ++i) row[i] = a + (i < rows ? i : 0) * lda;
  for (std::size_t p = 0; p < k; ++p) {
    const float* const column[avx2_mr] = {row[0] + p, row[1] + p, row[2] + p,
                                          row[3] + p, row[4] + p, row[5] + p};
    outer_product(acc, column, b);
    b += b_stride;
  }
  store_tile(acc, c, ldc, rows, cols, beta);
}

}  // namespace

MicroKernel micro_kernel_avx2() {
  return {avx2_mr,
          avx2_nr,
          kernel_avx2,
          kernel_avx2_a_rows,
          transpose_copy_avx2,
          merge_tile_transposed_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
MicroKernel micro_kernel_avx2() {
  return micro_kernel_generic();
}
}  // namespace tinyq

#endif
