// AVX-512 row kernels (see core/kernels/gemm_row_kernels.hpp). These are bound by
// how fast op(B) streams in, so the point is a few independent accumulators
// and masked loads for the ragged ends instead of scalar tails.
#include <algorithm>
#include <cmath>

#include "core/kernels/gemm_row_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace tinyq {

namespace {

TINYQ_AVX512 __mmask16 first_lanes(std::size_t count) {
  return count >= 16 ? __mmask16(0xffff) : __mmask16((1u << count) - 1);
}

TINYQ_AVX512 float merge(float beta, float c, float sum) {
  return beta == 0.0f ? sum : std::fma(beta, c, sum);
}

// Sum of the sixteen lanes, as a fixed pairwise tree.
TINYQ_AVX512 float lane_sum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  for (std::size_t width = 8; width > 0; width /= 2)
    for (std::size_t i = 0; i < width; ++i) lanes[i] += lanes[i + width];
  return lanes[0];
}

// Four rows of B at a time, each with its own accumulator, all sharing the
// loads of a. Past the last row the pointers repeat row n-1 (its result is
// simply not stored), so there is no separate tail loop.
TINYQ_AVX512 void row_dot_avx512(std::size_t k, const float* a, const float* b, std::size_t ldb,
                                 std::size_t n, float* c, float beta) {
  for (std::size_t j = 0; j < n; j += 4) {
    const float* rows[4];
    for (std::size_t r = 0; r < 4; ++r) rows[r] = b + std::min(j + r, n - 1) * ldb;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    for (std::size_t p = 0; p < k; p += 16) {
      const __mmask16 mask = first_lanes(k - p);
      const __m512 a_v = _mm512_maskz_loadu_ps(mask, a + p);
      for (std::size_t r = 0; r < 4; ++r)
        acc[r] = _mm512_fmadd_ps(a_v, _mm512_maskz_loadu_ps(mask, rows[r] + p), acc[r]);
    }
    for (std::size_t r = 0; r < 4 && j + r < n; ++r)
      c[j + r] = merge(beta, c[j + r], lane_sum(acc[r]));
  }
}

// 64 columns of C at a time in four vectors; each step of k adds a row of
// B scaled by one broadcast value of a.
TINYQ_AVX512 void row_axpy_avx512(std::size_t k, const float* a, std::size_t a_stride,
                                  const float* b, std::size_t ldb, std::size_t n, float* c,
                                  float beta) {
  for (std::size_t j = 0; j < n; j += 64) {
    __mmask16 mask[4];
    for (std::size_t q = 0; q < 4; ++q) mask[q] = first_lanes(n - j > 16 * q ? n - j - 16 * q : 0);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    for (std::size_t p = 0; p < k; ++p) {
      const __m512 a_p = _mm512_set1_ps(a[p * a_stride]);
      const float* b_row = b + p * ldb + j;
      for (std::size_t q = 0; q < 4; ++q)
        acc[q] = _mm512_fmadd_ps(a_p, _mm512_maskz_loadu_ps(mask[q], b_row + 16 * q), acc[q]);
    }
    const __m512 beta_v = _mm512_set1_ps(beta);
    for (std::size_t q = 0; q < 4; ++q) {
      float* c_q = c + j + 16 * q;
      if (beta != 0.0f)
        acc[q] = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(mask[q], c_q), acc[q]);
      _mm512_mask_storeu_ps(c_q, mask[q], acc[q]);
    }
  }
}

}  // namespace

RowKernel row_kernel_avx512() {
  return {row_dot_avx512, row_axpy_avx512};
}

}  // namespace tinyq

#else

namespace tinyq {
RowKernel row_kernel_avx512() {
  return row_kernel_generic();
}
}  // namespace tinyq

#endif
