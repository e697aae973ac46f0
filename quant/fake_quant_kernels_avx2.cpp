// The AVX2 fake-quantization loops (quant/fake_quant_kernels.hpp): codes from
// a float v, eight weights at a time, checked against the halfway points;
// the LSQ terms compiled for AVX2.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/fake_quant_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

// No FMA: the LSQ terms must be the generic path's IEEE operations.
#define TINYQ_AVX2 __attribute__((target("avx2")))

namespace tinyq {

namespace {

TINYQ_AVX2 void round_avx2(const BlockRounding& b, std::span<const float> w, std::int16_t* codes,
                           std::uint8_t* inside, float* w_q) {
  const double c = b.levels / b.range;
  const double tol = 0x1p-20 * (c * std::fabs(b.offset) + std::max(-b.lowest, b.highest) + 2.0);
  const auto lowest = static_cast<std::int32_t>(b.lowest);
  const std::span<const float> table = b.table;
  const auto exact = [&](std::size_t j) {
    round_exact(w[j], b, codes[j], inside[j]);
    if (!table.empty()) w_q[j] = table[static_cast<std::size_t>(codes[j] - lowest)];
  };
  std::size_t i = 0;
  // The float path needs the table, a grid whose float offset exists, and a
  // tolerance that leaves room between halfway points.
  if (!table.empty() && table.size() <= 256 && std::fabs(b.offset) < 1e30 && tol < 0.125) {
    const __m256 offset = _mm256_set1_ps(static_cast<float>(b.offset));
    const __m256 scale = _mm256_set1_ps(static_cast<float>(c));
    const __m256 below = _mm256_set1_ps(static_cast<float>(b.lowest - 1.0));
    const __m256 above = _mm256_set1_ps(static_cast<float>(b.highest + 1.0));
    const __m256 lo = _mm256_set1_ps(static_cast<float>(b.lowest));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(b.highest));
    const __m256 limit = _mm256_set1_ps(static_cast<float>(0.5 - tol));
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i one = _mm256_set1_epi32(1);
    alignas(32) float small[8] = {};
    const bool few = table.size() <= 8;
    if (few) std::memcpy(small, table.data(), table.size() * sizeof(float));
    const __m256 table8 = _mm256_load_ps(small);
    for (; i + 8 <= w.size(); i += 8) {
      __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(w.data() + i), offset), scale);
      v = _mm256_min_ps(_mm256_max_ps(v, below), above);  // a NaN becomes `below`
      const __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m256 dist = _mm256_andnot_ps(sign, _mm256_sub_ps(v, r));  // exact
      if (_mm256_movemask_ps(_mm256_cmp_ps(dist, limit, _CMP_GE_OQ)) != 0) {
        for (std::size_t j = i; j < i + 8; ++j) exact(j);
        continue;
      }
      const __m256 q = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
      const __m256i k = _mm256_cvtps_epi32(_mm256_sub_ps(q, lo));
      _mm256_storeu_ps(w_q + i, few ? _mm256_permutevar8x32_ps(table8, k)
                                    : _mm256_i32gather_ps(table.data(), k, 4));
      const __m256i qi = _mm256_cvtps_epi32(q);
      _mm_storeu_si128(
          reinterpret_cast<__m128i*>(codes + i),
          _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1)));
      const __m256i in =
          _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(q, r, _CMP_EQ_OQ)), one);
      const __m128i in16 =
          _mm_packs_epi32(_mm256_castsi256_si128(in), _mm256_extracti128_si256(in, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(inside + i), _mm_packus_epi16(in16, in16));
    }
  }
  for (; i < w.size(); ++i) exact(i);
}

TINYQ_AVX2 void lsq_terms_avx2(const LsqBlock& block, std::span<const float> w,
                               std::span<const float> grad, const std::int16_t* codes,
                               const std::uint8_t* inside, double* step_terms,
                               double* offset_terms) {
  lsq_terms_body(block, w, grad, codes, inside, step_terms, offset_terms);
}

}  // namespace

FakeQuantKernels fake_quant_kernels_avx2() {
  return {round_avx2, lsq_terms_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
FakeQuantKernels fake_quant_kernels_avx2() {
  return fake_quant_kernels_generic();
}
}  // namespace tinyq

#endif
