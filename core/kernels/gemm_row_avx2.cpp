// AVX2 row kernels (see core/kernels/gemm_row_kernels.hpp): the AVX-512 ones at
// half the width, with scalar loops for the ragged ends.
#include <algorithm>
#include <cmath>

#include "core/kernels/gemm_row_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

TINYQ_AVX2 float merge(float beta, float c, float sum) {
  return beta == 0.0f ? sum : std::fma(beta, c, sum);
}

// Sum of the eight lanes, in a fixed order.
TINYQ_AVX2 float lane_sum(__m256 v) {
  const __m128 halves = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}

// Eight rows of B at a time, as the AVX-512 kernel takes them: eight
// independent FMA chains, where four waited on the FMA latency (1 × 784 ×
// 256 on one core, W hot and aligned, Intel Xeon: 6.6 -> 6.1 µs). Each
// element is the same chain and tree in whichever group it falls.
TINYQ_AVX2 void row_dot_avx2(std::size_t k, const float* a, const float* b, std::size_t ldb,
                             std::size_t n, float* c, float beta) {
  constexpr std::size_t group = 8;
  const std::size_t k8 = k / 8 * 8;
  for (std::size_t j = 0; j < n; j += group) {
    const float* rows[group];
    for (std::size_t r = 0; r < group; ++r) rows[r] = b + std::min(j + r, n - 1) * ldb;
    __m256 acc[group];
    for (std::size_t r = 0; r < group; ++r) acc[r] = _mm256_setzero_ps();
    for (std::size_t p = 0; p < k8; p += 8) {
      const __m256 a_v = _mm256_loadu_ps(a + p);
      for (std::size_t r = 0; r < group; ++r)
        acc[r] = _mm256_fmadd_ps(a_v, _mm256_loadu_ps(rows[r] + p), acc[r]);
    }
    for (std::size_t r = 0; r < group && j + r < n; ++r) {
      float sum = lane_sum(acc[r]);
      for (std::size_t p = k8; p < k; ++p) sum = std::fma(a[p], rows[r][p], sum);
      c[j + r] = merge(beta, c[j + r], sum);
    }
  }
}

TINYQ_AVX2 void row_axpy_avx2(std::size_t k, const float* a, std::size_t a_stride, const float* b,
                              std::size_t ldb, std::size_t n, float* c, float beta) {
  std::size_t j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (std::size_t p = 0; p < k; ++p) {
      const __m256 a_p = _mm256_set1_ps(a[p * a_stride]);
      const float* b_row = b + p * ldb + j;
      for (std::size_t q = 0; q < 4; ++q)
        acc[q] = _mm256_fmadd_ps(a_p, _mm256_loadu_ps(b_row + 8 * q), acc[q]);
    }
    const __m256 beta_v = _mm256_set1_ps(beta);
    for (std::size_t q = 0; q < 4; ++q) {
      float* c_q = c + j + 8 * q;
      if (beta != 0.0f) acc[q] = _mm256_fmadd_ps(beta_v, _mm256_loadu_ps(c_q), acc[q]);
      _mm256_storeu_ps(c_q, acc[q]);
    }
  }
  for (; j < n; ++j) {  // fewer than 32 columns left
    float sum = 0.0f;
    for (std::size_t p = 0; p < k; ++p) sum = std::fma(a[p * a_stride], b[p * ldb + j], sum);
    c[j] = merge(beta, c[j], sum);
  }
}

}  // namespace

RowKernel row_kernel_avx2() {
  return {row_dot_avx2, row_axpy_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
RowKernel row_kernel_avx2() {
  return row_kernel_generic();
}
}  // namespace tinyq

#endif
