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

// Columns of four rows of four: c[k] = {r[0][k], r[1][k], r[2][k], r[3][k]}.
TINYQ_AVX2 void transpose(__m256d r[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20), r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31), r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// Four blocks side by side, one per lane of the sums: each block's terms are
// computed four weights at a time along its row, then turned into columns
// and added in weight order, so every lane adds exactly what the scalar
// loop adds, in its order (and four chains of additions run at once).
template <bool offsets>
TINYQ_AVX2 void lsq_sums_four(std::span<const LsqRun> runs, std::size_t length, double* step_sums,
                              double* offset_sums) {
  const __m256d zero = _mm256_setzero_pd();
  __m256d offset[4], step[4];
  bool positive[4];
  for (std::size_t j = 0; j < 4; ++j) {
    offset[j] = _mm256_set1_pd(runs[j].offset), step[j] = _mm256_set1_pd(runs[j].step);
    positive[j] = runs[j].step > 0.0;
  }
  __m256d s = _mm256_setzero_pd(), o = _mm256_setzero_pd();
  const std::size_t whole = length - length % 4;
  for (std::size_t i = 0; i < whole; i += 4) {
    __m256d t[4], u[4];
    for (std::size_t j = 0; j < 4; ++j) {
      const LsqRun& run = runs[j];
      std::int32_t inside_bytes;
      std::memcpy(&inside_bytes, run.inside + i, sizeof inside_bytes);
      const __m128i in32 = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(inside_bytes));
      const __m128 grad = _mm_loadu_ps(run.grad + i);
      _mm_storeu_ps(run.grad_w + i, _mm_mul_ps(_mm_cvtepi32_ps(in32), grad));
      const __m256d g = _mm256_cvtps_pd(grad), in = _mm256_cvtepi32_pd(in32);
      const __m256d q = _mm256_cvtepi32_pd(
          _mm_cvtepi16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(run.codes + i))));
      const __m256d v =
          positive[j]
              ? _mm256_div_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(run.w + i)), offset[j]),
                              step[j])
              : _mm256_setzero_pd();
      const __m256d passes = _mm256_cmp_pd(in, zero, _CMP_NEQ_OQ);
      t[j] = _mm256_blendv_pd(_mm256_mul_pd(g, q), _mm256_mul_pd(g, _mm256_sub_pd(q, v)), passes);
      if constexpr (offsets) u[j] = _mm256_andnot_pd(passes, g);
    }
    transpose(t);
    for (std::size_t k = 0; k < 4; ++k) s = _mm256_add_pd(s, t[k]);
    if constexpr (offsets) {
      transpose(u);
      for (std::size_t k = 0; k < 4; ++k) o = _mm256_add_pd(o, u[k]);
    }
  }
  _mm256_storeu_pd(step_sums, s);
  _mm256_storeu_pd(offset_sums, o);
  for (std::size_t j = 0; j < 4; ++j)
    lsq_sum_scalar(runs[j], whole, length, step_sums[j], offset_sums[j]);
}

TINYQ_AVX2 void lsq_sums_avx2(std::span<const LsqRun> runs, std::size_t length, bool offsets,
                              double* step_sums, double* offset_sums) {
  if (runs.size() == 4)
    return offsets ? lsq_sums_four<true>(runs, length, step_sums, offset_sums)
                   : lsq_sums_four<false>(runs, length, step_sums, offset_sums);
  for (std::size_t j = 0; j < runs.size(); ++j) {
    step_sums[j] = 0.0, offset_sums[j] = 0.0;
    lsq_sum_scalar(runs[j], 0, length, step_sums[j], offset_sums[j]);
  }
}

}  // namespace

FakeQuantKernels fake_quant_kernels_avx2() {
  return {round_avx2, lsq_sums_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
FakeQuantKernels fake_quant_kernels_avx2() {
  return fake_quant_kernels_generic();
}
}  // namespace tinyq

#endif
