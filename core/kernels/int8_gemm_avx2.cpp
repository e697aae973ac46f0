// The AVX2 int8 kernel: 2 rows × 1 panel (16 outputs), exact 16-bit products.
//
// AVX2 has no vpdpbusd, and vpmaddubsw adds two u8·s8 products into a
// saturating int16 (255·127·2 > 32767), which would break exactness. So both
// operands are widened to int16 first and multiplied with vpmaddwd, which
// adds each pair of 16-bit products into an int32: 255·128·2 fits easily.
//
// A packed k-group (64 bytes) is four 16-byte quarters, quarter q holding
// outputs 4q..4q+3 with their four weights each. Widened, a quarter is 16
// int16; vpmaddwd against the row's four activations (repeated 4 times)
// gives 8 int32: two half-sums per output. The halves are accumulated
// separately over k and added with one vphaddd per pair of quarters at the
// end, which leaves outputs in the order 0 1 4 5 2 3 6 7 within the 256-bit
// register; a 64-bit permute puts them back.
#include <algorithm>
#include <cstring>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

// affine_to_u8 promises the generic path's bits: a rounded product, then a
// rounded sum. g++ would fuse _mm256_mul_ps and _mm256_add_ps into one FMA
// (single rounding) under target("fma"); clang keeps them apart.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t avx2_rows = 2;

template <std::size_t R>
TINYQ_AVX2 void tile_avx2(const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                          std::size_t g_begin, std::size_t g_end, std::int32_t* c, std::size_t ldc,
                          std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  __m256i acc[R][4];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t q = 0; q < 4; ++q) acc[r][q] = _mm256_setzero_si256();
  for (std::size_t g = g_begin; g < g_end; ++g) {
    __m256i w[4];
    for (std::size_t q = 0; q < 4; ++q)
      w[q] = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + g * group_bytes + 16 * q)));
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t four;
      std::memcpy(&four, a + r * lda + g * int8_k_group, sizeof four);
      const __m256i x = _mm256_cvtepu8_epi16(_mm_set1_epi32(four));
      for (std::size_t q = 0; q < 4; ++q)
        acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(x, w[q]));
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    alignas(32) std::int32_t sums[int8_panel_columns];
    for (std::size_t half = 0; half < 2; ++half) {
      const __m256i mixed = _mm256_hadd_epi32(acc[r][2 * half], acc[r][2 * half + 1]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8 * half),
                         _mm256_permute4x64_epi64(mixed, _MM_SHUFFLE(3, 1, 2, 0)));
    }
    std::copy(sums, sums + std::min(cols, int8_panel_columns), c + r * ldc);
  }
}

void kernel_avx2(std::size_t rows, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                 std::size_t, std::size_t g_begin, std::size_t g_end, std::int32_t* c,
                 std::size_t ldc, std::size_t cols) {
  if (rows == avx2_rows)
    tile_avx2<2>(a, lda, b, g_begin, g_end, c, ldc, cols);
  else
    tile_avx2<1>(a, lda, b, g_begin, g_end, c, ldc, cols);
}

// The row helpers, 8 floats at a time, the tail (n % 8 values) by the
// generic code. minps/maxps return their second operand when either is NaN,
// so min(v, low) is `v < low ? v : low`, the generic loop's expression: NaNs
// are skipped, and -0.0 never replaces the starting +0.0 in either.
TINYQ_AVX2 void range_avx2(const float* x, std::size_t n, float& lo, float& hi) {
  __m256 low = _mm256_setzero_ps(), high = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    low = _mm256_min_ps(v, low);
    high = _mm256_max_ps(v, high);
  }
  float tail_lo, tail_hi;
  float_range_generic(x + i, n - i, tail_lo, tail_hi);
  alignas(32) float lows[8], highs[8];
  _mm256_store_ps(lows, low);
  _mm256_store_ps(highs, high);
  lo = tail_lo;
  hi = tail_hi;
  for (std::size_t l = 0; l < 8; ++l) {
    lo = lows[l] < lo ? lows[l] : lo;
    hi = highs[l] > hi ? highs[l] : hi;
  }
}

// Same steps as affine_to_u8_generic: v = x·scale (rounded), + shift
// (rounded); max(v, 0) turns NaN into 0 like `v > 0 ? v : 0`; truncating
// v + 0.5 >= 0 rounds half up. The int32 codes (0..255) become bytes by
// two saturating packs (which cannot saturate here); the packs work within
// 128-bit halves, so one 32-bit permute puts the 4-byte pieces back in order.
TINYQ_AVX2 std::uint32_t to_u8_avx2(const float* x, std::size_t n, float scale, float shift,
                                    std::uint8_t* out) {
  const __m256 scales = _mm256_set1_ps(scale), shifts = _mm256_set1_ps(shift);
  const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
  const __m256 half = _mm256_set1_ps(0.5f);
  __m256i sums = _mm256_setzero_si256();
  std::size_t i = 0;
  const auto codes_of = [&](const float* from) {
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(from), scales), shifts);
    v = _mm256_min_ps(_mm256_max_ps(v, zero), top);
    return _mm256_cvttps_epi32(_mm256_add_ps(v, half));
  };
  for (; i + 32 <= n; i += 32) {
    const __m256i c0 = codes_of(x + i), c1 = codes_of(x + i + 8);
    const __m256i c2 = codes_of(x + i + 16), c3 = codes_of(x + i + 24);
    sums = _mm256_add_epi32(sums,
                            _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)));
    // packs: [c0 0-3, c1 0-3, c0 4-7, c1 4-7] as int16, then bytes
    // [c0 0-3, c1 0-3, c2 0-3, c3 0-3 | c0 4-7, c1 4-7, c2 4-7, c3 4-7].
    const __m256i bytes =
        _mm256_packus_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_permutevar8x32_epi32(bytes, order));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256i codes = codes_of(x + i);
    sums = _mm256_add_epi32(sums, codes);
    const __m128i words =
        _mm_packs_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(words, words));
  }
  alignas(32) std::uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sums);
  std::uint32_t sum = affine_to_u8_generic(x + i, n - i, scale, shift, out + i);
  for (const std::uint32_t lane : lanes) sum += lane;
  return sum;
}

}  // namespace

Int8Kernel int8_kernel_avx2() {
  return {avx2_rows, 1, kernel_avx2, range_avx2, to_u8_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
Int8Kernel int8_kernel_avx2() {
  return int8_kernel_generic();
}
}  // namespace tinyq

#endif
