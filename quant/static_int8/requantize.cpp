// requantize_codes and requantize_scores: the plain loop, and the AVX2 one.
#include "quant/static_int8/requantize.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TINYQ_HAVE_AVX2_REQUANT 1
#define TINYQ_AVX2 __attribute__((target("avx2")))
#endif

namespace tinyq {

namespace {

// Outputs [begin, n) with the scalar helpers.
void scalar_codes(const RequantTable& t, std::size_t begin, const std::int32_t* acc,
                  std::int32_t lo, std::int32_t hi, std::int32_t offset, std::uint8_t* codes) {
  for (std::size_t j = begin; j < t.outputs; ++j) {
    const std::int32_t scaled =
        multiply_by_quantized_multiplier(acc[j] + t.bias[j], {t.m0[j], t.shift[j]});
    codes[j] = static_cast<std::uint8_t>(std::clamp(scaled, lo, hi) + offset);
  }
}

void scalar_scores(const RequantTable& t, std::size_t begin, const std::int32_t* acc,
                   std::int32_t* scores) {
  for (std::size_t j = begin; j < t.outputs; ++j)
    scores[j] = multiply_by_quantized_multiplier(acc[j] + t.bias[j], {t.m0[j], t.shift[j]});
}

#ifdef TINYQ_HAVE_AVX2_REQUANT

// srdhm on four 64-bit products: the nudge is 2^30, or 1 - 2^30 = 2^30 +
// (1 - 2^31) for a negative product; the division by 2^31 truncates toward
// zero, so a negative sum gets 2^31 - 1 added before the shift. The quotient
// fits in 32 bits (M0 is never INT32_MIN, so nothing saturates): a logical
// 64-bit shift leaves it in the low half of each lane.
TINYQ_AVX2 __m256i high_mul(__m256i product) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i half = _mm256_set1_epi64x(std::int64_t{1} << 30);
  const __m256i negative_nudge = _mm256_set1_epi64x(1 - (std::int64_t{1} << 31));
  __m256i v = _mm256_add_epi64(
      product,
      _mm256_add_epi64(half, _mm256_and_si256(_mm256_cmpgt_epi64(zero, product), negative_nudge)));
  v = _mm256_add_epi64(v, _mm256_and_si256(_mm256_cmpgt_epi64(zero, v),
                                           _mm256_set1_epi64x((std::int64_t{1} << 31) - 1)));
  return _mm256_srli_epi64(v, 31);
}

// Eight M_j(x_j) with every shift_j <= 0, exactly as fixed_point.hpp.
TINYQ_AVX2 __m256i requantize8(__m256i x, const std::int32_t* m0, const std::int32_t* shift) {
  const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m0));
  const __m256i zero = _mm256_setzero_si256();
  // The 64-bit products of the even lanes, then of the odd ones.
  const __m256i even = high_mul(_mm256_mul_epi32(x, m));
  const __m256i odd =
      high_mul(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)));
  const __m256i h = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b10101010);
  // rounding_divide_by_pot by e = -shift_j: ties away from zero.
  const __m256i e =
      _mm256_sub_epi32(zero, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift)));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, e), one);
  const __m256i remainder = _mm256_and_si256(h, mask);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_srai_epi32(h, 31));
  return _mm256_sub_epi32(_mm256_srav_epi32(h, e), _mm256_cmpgt_epi32(remainder, threshold));
}

TINYQ_AVX2 std::size_t avx2_codes(const RequantTable& t, const std::int32_t* acc, std::int32_t lo,
                                  std::int32_t hi, std::int32_t offset, std::uint8_t* codes) {
  std::size_t j = 0;
  for (; j + 8 <= t.outputs; j += 8) {
    const __m256i x =
        _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j)),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.bias + j)));
    __m256i r = requantize8(x, t.m0 + j, t.shift + j);
    r = _mm256_min_epi32(_mm256_max_epi32(r, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
    r = _mm256_add_epi32(r, _mm256_set1_epi32(offset));  // now 0..255
    const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(r, r), _mm256_setzero_si256());
    const std::int32_t first = _mm256_extract_epi32(bytes, 0),
                       second = _mm256_extract_epi32(bytes, 4);
    std::memcpy(codes + j, &first, 4);
    std::memcpy(codes + j + 4, &second, 4);
  }
  return j;
}

TINYQ_AVX2 std::size_t avx2_scores(const RequantTable& t, const std::int32_t* acc,
                                   std::int32_t* scores) {
  std::size_t j = 0;
  for (; j + 8 <= t.outputs; j += 8) {
    const __m256i x =
        _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j)),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.bias + j)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(scores + j),
                        requantize8(x, t.m0 + j, t.shift + j));
  }
  return j;
}

#endif

}  // namespace

void requantize_codes(Isa isa, const RequantTable& table, const std::int32_t* acc, std::int32_t lo,
                      std::int32_t hi, std::int32_t offset, std::uint8_t* codes) {
  std::size_t done = 0;
#ifdef TINYQ_HAVE_AVX2_REQUANT
  if (isa != Isa::generic && table.right_shifts_only)
    done = avx2_codes(table, acc, lo, hi, offset, codes);
#endif
  scalar_codes(table, done, acc, lo, hi, offset, codes);
}

void requantize_scores(Isa isa, const RequantTable& table, const std::int32_t* acc,
                       std::int32_t* scores) {
  std::size_t done = 0;
#ifdef TINYQ_HAVE_AVX2_REQUANT
  if (isa != Isa::generic && table.right_shifts_only) done = avx2_scores(table, acc, scores);
#endif
  scalar_scores(table, done, acc, scores);
}

}  // namespace tinyq
