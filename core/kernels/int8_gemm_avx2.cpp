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

}  // namespace

Int8Kernel int8_kernel_avx2() {
  return {avx2_rows, 1, kernel_avx2, float_range_generic, affine_to_u8_generic};
}

}  // namespace tinyq

#else

namespace tinyq {
Int8Kernel int8_kernel_avx2() {
  return int8_kernel_generic();
}
}  // namespace tinyq

#endif
