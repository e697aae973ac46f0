// requantize_codes and requantize_scores: the plain loop, the AVX2 one and
// the AVX-512 one.
#include "quant/static_int8/requantize.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TINYQ_HAVE_AVX2_REQUANT 1
#define TINYQ_AVX2 __attribute__((target("avx2")))
#define TINYQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
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

// srdhm on four 64-bit products p. Its definition (fixed_point.hpp) adds a
// nudge of 2^30, or 1 - 2^30 when p < 0, and divides by 2^31 truncating
// toward zero. Both cases are one floor:
//
//   p >= 0:  trunc((p + 2^30) / 2^31)     = floor((p + 2^30) / 2^31)
//   p <  0:  trunc((p + 1 - 2^30) / 2^31) = ceil((p + 1 - 2^30) / 2^31)
//                                         = floor((p + 1 - 2^30 + 2^31 - 1) / 2^31)
//                                         = floor((p + 2^30) / 2^31)
//
// so an addition and a shift by 31 (p + 2^30 cannot overflow: |p| <= 2^62).
// The quotient fits in 32 bits (M0 is never INT32_MIN, so nothing
// saturates), and the low 32 bits of a logical 64-bit shift are those of
// the arithmetic one: the quotient is left in the low half of each lane.
// (Written as the definition reads, with compares, blends and a second
// addition, it took 17% of a static int8 pass over MNIST's test set.)
TINYQ_AVX2 __m256i high_mul(__m256i product) {
  return _mm256_srli_epi64(_mm256_add_epi64(product, _mm256_set1_epi64x(std::int64_t{1} << 30)),
                           31);
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

// The same steps on 16 lanes. AVX-512 compares give masks, so each
// conditional add is one masked add; the last outputs (n mod 16) are
// loaded and stored under a mask, so no scalar tail is left. On a Zen 5 the
// whole static forward pass took 0.95 of its time with the AVX2 loop (batch 1
// and the whole test set, both data sets, 12 alternated rounds). The
// zero-masking (maskz) forms, all lanes on: GCC 12's unmasked forms pass an
// "undefined" source that -Wmaybe-uninitialized flags once inlined; these
// are the same instructions.
constexpr __mmask8 all8 = 0xFF;
constexpr __mmask16 all16 = 0xFFFF;

// high_mul's floor((p + 2^30) / 2^31) on eight products.
TINYQ_AVX512 __m512i high_mul16(__m512i product) {
  return _mm512_maskz_srli_epi64(
      all8, _mm512_add_epi64(product, _mm512_set1_epi64(std::int64_t{1} << 30)), 31);
}

TINYQ_AVX512 __m512i requantize16(__mmask16 lanes, __m512i x, const std::int32_t* m0,
                                  const std::int32_t* shift) {
  const __m512i m = _mm512_maskz_loadu_epi32(lanes, m0);
  const __m512i even = high_mul16(_mm512_maskz_mul_epi32(all8, x, m));
  const __m512i odd = high_mul16(_mm512_maskz_mul_epi32(all8, _mm512_maskz_srli_epi64(all8, x, 32),
                                                        _mm512_maskz_srli_epi64(all8, m, 32)));
  const __m512i h = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_maskz_slli_epi64(all8, odd, 32));
  const __m512i e =
      _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_maskz_loadu_epi32(lanes, shift));
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i mask = _mm512_sub_epi32(_mm512_maskz_sllv_epi32(all16, one, e), one);
  const __m512i remainder = _mm512_and_si512(h, mask);
  const __m512i threshold = _mm512_sub_epi32(_mm512_maskz_srli_epi32(all16, mask, 1),
                                             _mm512_maskz_srai_epi32(all16, h, 31));
  const __m512i quotient = _mm512_maskz_srav_epi32(all16, h, e);
  return _mm512_mask_add_epi32(quotient, _mm512_cmpgt_epi32_mask(remainder, threshold), quotient,
                               one);
}

// The 16 lanes of outputs [j, j + count), count <= 16.
TINYQ_AVX512 __mmask16 first_lanes(std::size_t count) {
  return static_cast<__mmask16>((1u << count) - 1u);
}

TINYQ_AVX512 std::size_t avx512_codes(const RequantTable& t, const std::int32_t* acc,
                                      std::int32_t lo, std::int32_t hi, std::int32_t offset,
                                      std::uint8_t* codes) {
  for (std::size_t j = 0; j < t.outputs; j += 16) {
    const __mmask16 lanes = first_lanes(std::min<std::size_t>(16, t.outputs - j));
    const __m512i x = _mm512_add_epi32(_mm512_maskz_loadu_epi32(lanes, acc + j),
                                       _mm512_maskz_loadu_epi32(lanes, t.bias + j));
    __m512i r = requantize16(lanes, x, t.m0 + j, t.shift + j);
    r = _mm512_maskz_min_epi32(all16, _mm512_maskz_max_epi32(all16, r, _mm512_set1_epi32(lo)),
                               _mm512_set1_epi32(hi));
    r = _mm512_add_epi32(r, _mm512_set1_epi32(offset));  // now 0..255
    _mm_mask_storeu_epi8(codes + j, lanes, _mm512_maskz_cvtepi32_epi8(all16, r));
  }
  return t.outputs;
}

TINYQ_AVX512 std::size_t avx512_scores(const RequantTable& t, const std::int32_t* acc,
                                       std::int32_t* scores) {
  for (std::size_t j = 0; j < t.outputs; j += 16) {
    const __mmask16 lanes = first_lanes(std::min<std::size_t>(16, t.outputs - j));
    const __m512i x = _mm512_add_epi32(_mm512_maskz_loadu_epi32(lanes, acc + j),
                                       _mm512_maskz_loadu_epi32(lanes, t.bias + j));
    _mm512_mask_storeu_epi32(scores + j, lanes, requantize16(lanes, x, t.m0 + j, t.shift + j));
  }
  return t.outputs;
}

#endif

}  // namespace

void requantize_codes(Isa isa, const RequantTable& table, const std::int32_t* acc, std::int32_t lo,
                      std::int32_t hi, std::int32_t offset, std::uint8_t* codes) {
  std::size_t done = 0;
#ifdef TINYQ_HAVE_AVX2_REQUANT
  if (isa == Isa::avx512 && table.right_shifts_only)
    done = avx512_codes(table, acc, lo, hi, offset, codes);
  else if (isa == Isa::avx2 && table.right_shifts_only)
    done = avx2_codes(table, acc, lo, hi, offset, codes);
#endif
  scalar_codes(table, done, acc, lo, hi, offset, codes);
}

void requantize_scores(Isa isa, const RequantTable& table, const std::int32_t* acc,
                       std::int32_t* scores) {
  std::size_t done = 0;
#ifdef TINYQ_HAVE_AVX2_REQUANT
  if (isa == Isa::avx512 && table.right_shifts_only)
    done = avx512_scores(table, acc, scores);
  else if (isa == Isa::avx2 && table.right_shifts_only)
    done = avx2_scores(table, acc, scores);
#endif
  scalar_scores(table, done, acc, scores);
}

}  // namespace tinyq
