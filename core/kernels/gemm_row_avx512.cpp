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

// Sum of the sixteen lanes, as a fixed pairwise tree: lane i + lane i + 8
// for i < 8, then i + 4, i + 2, i + 1, each half added in registers.
TINYQ_AVX512 float lane_sum(__m512 v) {
  // (GCC 12 builds the unmasked extracts on an "undefined" source that
  // -Wmaybe-uninitialized flags; masked with all eight lanes they are the
  // same instructions.)
  const __m256 eight = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0),
                                     _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}

// Eight rows of B at a time, each with its own accumulator, all sharing the
// loads of a: eight independent chains of fused multiply-adds keep both FMA
// units busy (four left them waiting on the FMA latency), and the nine
// loads a step still fit the two load ports (1 × 784 × 256 on one core of an
// Intel Xeon, W hot and aligned: 9.0 -> 5.1 µs). Past the last row the pointers
// repeat row n-1 (its result is simply not stored), so there is no separate
// tail loop. Every element is one chain over k in steps of 16 (the last
// step masked) and the lane tree above, whichever group it falls in.
TINYQ_AVX512 void row_dot_avx512(std::size_t k, const float* a, const float* b, std::size_t ldb,
                                 std::size_t n, float* c, float beta) {
  constexpr std::size_t group = 8;
  const std::size_t full = k / 16 * 16;
  for (std::size_t j = 0; j < n; j += group) {
    const float* rows[group];
    for (std::size_t r = 0; r < group; ++r) rows[r] = b + std::min(j + r, n - 1) * ldb;
    __m512 acc[group];
    for (std::size_t r = 0; r < group; ++r) acc[r] = _mm512_setzero_ps();
    for (std::size_t p = 0; p < full; p += 16) {
      const __m512 a_v = _mm512_loadu_ps(a + p);
      for (std::size_t r = 0; r < group; ++r)
        acc[r] = _mm512_fmadd_ps(a_v, _mm512_loadu_ps(rows[r] + p), acc[r]);
    }
    if (full < k) {
      const __mmask16 mask = first_lanes(k - full);
      const __m512 a_v = _mm512_maskz_loadu_ps(mask, a + full);
      for (std::size_t r = 0; r < group; ++r)
        acc[r] = _mm512_fmadd_ps(a_v, _mm512_maskz_loadu_ps(mask, rows[r] + full), acc[r]);
    }
    for (std::size_t r = 0; r < group && j + r < n; ++r)
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
