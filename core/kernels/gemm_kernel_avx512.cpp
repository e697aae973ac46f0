// The AVX-512 micro-kernel: a 12×32 tile of C in 24 zmm registers.
//
// Register budget (32 zmm): 12 rows × 2 vectors of 16 floats = 24
// accumulators, 2 for the current row of the B sliver, and one for the
// broadcast a value, with room to spare for the compiler. Per step of k the
// kernel does 2 loads, 12 broadcasts and 24 FMAs: the two FMA units need 12
// cycles for that, the loads fit in the same cycles, and 24 independent
// accumulators cover the FMA latency (4 cycles × 2 units = 8 in flight).
//
//        b0 (16)   b1 (16)
//   a0 [ acc00  ][ acc01  ]
//   a1 [ acc10  ][ acc11  ]
//   …
//   a11[ acc110 ][ acc111 ]
//
// kernel_avx512_a_rows is the same tile with A read in place from twelve
// rows (gemm_kernels.hpp): the same FMAs, only the broadcasts' addresses
// differ. Training the 784-256-128-10 MLP at batch 64, 2 threads, Zen 5, in
// one process against packing A, alternated (60 rounds of 100 steps): 0.93
// of the time; at widths 1024,1024 0.82-0.86.
//
// Compiled with a target attribute rather than a global -mavx512f flag, so
// the rest of the program stays runnable on CPUs without AVX-512.
#include <algorithm>

#include "core/kernels/gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t avx512_mr = 12;
constexpr std::size_t avx512_nr = 32;

// Stores the finished tile with the merge rule of gemm_kernels.hpp.
TINYQ_AVX512 inline __attribute__((always_inline)) void store_tile(__m512 (&acc)[avx512_mr][2],
                                                                   float* c, std::size_t ldc,
                                                                   std::size_t rows,
                                                                   std::size_t cols, float beta) {
  if (rows == avx512_mr && cols == avx512_nr) {
    const __m512 beta_v = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (std::size_t i = 0; i < avx512_mr; ++i) {
      float* c_row = c + i * ldc;
      if (beta != 0.0f) {
        acc[i][0] = _mm512_fmadd_ps(beta_v, _mm512_loadu_ps(c_row), acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(beta_v, _mm512_loadu_ps(c_row + 16), acc[i][1]);
      }
      _mm512_storeu_ps(c_row, acc[i][0]);
      _mm512_storeu_ps(c_row + 16, acc[i][1]);
    }
    return;
  }
  alignas(64) float tile[avx512_mr * avx512_nr];
#pragma GCC unroll 12
  for (std::size_t i = 0; i < avx512_mr; ++i) {
    _mm512_store_ps(tile + i * avx512_nr, acc[i][0]);
    _mm512_store_ps(tile + i * avx512_nr + 16, acc[i][1]);
  }
  merge_tile(tile, avx512_nr, c, ldc, rows, cols, beta);
}

// One step of k: the tile gains the outer product of twelve A values and a B
// row.
TINYQ_AVX512 inline __attribute__((always_inline)) void outer_product(
    __m512 (&acc)[avx512_mr][2], const float* const (&a)[avx512_mr], const float* b) {
  const __m512 b0 = _mm512_loadu_ps(b);
  const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
  for (std::size_t i = 0; i < avx512_mr; ++i) {
    const __m512 ai = _mm512_set1_ps(*a[i]);
    acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
    acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
  }
}

TINYQ_AVX512 void kernel_avx512(std::size_t k, const float* a, std::size_t a_stride, const float* b,
                                std::size_t b_stride, float* c, std::size_t ldc, std::size_t rows,
                                std::size_t cols, float beta) {
  __m512 acc[avx512_mr][2];
#pragma GCC unroll 12
  for (std::size_t i = 0; i < avx512_mr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (std::size_t p = 0; p < k; ++p) {
    const float* const column[avx512_mr] = {a,     a + 1, a + 2, a + 3, a + 4,  a + 5,
                                            a + 6, a + 7, a + 8, a + 9, a + 10, a + 11};
    outer_product(acc, column, b);
    a += a_stride;
    b += b_stride;
  }
  store_tile(acc, c, ldc, rows, cols, beta);
}

// The same tile with A read in place from its rows (see gemm_kernels.hpp):
// the FMAs are those of kernel_avx512, in the same order, so the bits are too.
TINYQ_AVX512 void kernel_avx512_a_rows(std::size_t k, const float* a, std::size_t lda,
                                       const float* b, std::size_t b_stride, float* c,
                                       std::size_t ldc, std::size_t rows, std::size_t cols,
                                       float beta) {
  __m512 acc[avx512_mr][2];
#pragma GCC unroll 12
  for (std::size_t i = 0; i < avx512_mr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const float* row[avx512_mr];
  for (std::size_t i = 0; i < avx512_mr; ++i) row[i] = a + (i < rows ? i : 0) * lda;
  for (std::size_t p = 0; p < k; ++p) {
    const float* const column[avx512_mr] = {row[0] + p, row[1] + p, row[2] + p,  row[3] + p,
                                            row[4] + p, row[5] + p, row[6] + p,  row[7] + p,
                                            row[8] + p, row[9] + p, row[10] + p, row[11] + p};
    outer_product(acc, column, b);
    b += b_stride;
  }
  store_tile(acc, c, ldc, rows, cols, beta);
}

// The transposed merge (gemm_kernels.hpp) of a 12-row tile: the AVX2 merge
// turns 8 rows at a time, so rows 0-7 and 8-11 go in two calls, each
// writing the scalar merge's bytes. Training at batch 64, 2 threads, Zen 5,
// against the scalar merge, alternated (60 rounds of 100 steps): 0.98 of
// the time.
void merge_tile_transposed_rows(const float* tile, std::size_t nr, float* c, std::size_t ldc,
                                std::size_t rows, std::size_t cols, float beta) {
  merge_tile_transposed_avx2(tile, nr, c, ldc, std::min<std::size_t>(rows, 8), cols, beta);
  if (rows > 8) merge_tile_transposed_avx2(tile + 8 * nr, nr, c + 8, ldc, rows - 8, cols, beta);
}

}  // namespace

MicroKernel micro_kernel_avx512() {
  return {avx512_mr,
          avx512_nr,
          kernel_avx512,
          kernel_avx512_a_rows,
          transpose_copy_avx512,
          merge_tile_transposed_rows};
}

}  // namespace tinyq

#else

namespace tinyq {
MicroKernel micro_kernel_avx512() {
  return micro_kernel_generic();
}
}  // namespace tinyq

#endif
