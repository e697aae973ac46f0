// The AVX-512 VNNI int8 kernel: up to 6 rows × 2 panels (32 outputs) of
// int32 sums in 12 zmm registers.
//
// vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes, adds each four
// neighbouring products into one of 16 int32 lanes, and accumulates: with a
// broadcast of a[r][4g..4g+3] against a packed k-group (output j's four
// weights in lane j) one instruction does 64 multiply-adds for one row and
// 16 outputs. The bytes are widened inside the instruction, so nothing
// saturates (unlike vpmaddubsw's 16-bit pair sums). Per k-group: 2 loads of
// b, `rows` broadcasts from memory and 2·rows vpdpbusd.
//
// Why only 6 rows: measured at 480 × 784 × 256 on one core, 6 × 2 tiles run
// at ~280 G multiply-adds/s, while at 8 × 2 and 12 × 2 g++ 12 shuffles the
// accumulators of the destructive vpdpbusd between registers and the stack
// and the kernel drops to 120-160.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

// affine_to_u8 promises the generic path's bits: a rounded product, then a
// rounded sum. g++ would fuse _mm512_mul_ps and _mm512_add_ps into one FMA
// (single rounding) by default; clang keeps them apart.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define TINYQ_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t vnni_rows = 6;
constexpr std::size_t vnni_panels = 2;

template <std::size_t R, std::size_t P>
TINYQ_AVX512_VNNI void tile_vnni(const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                                 std::size_t panel_stride, std::size_t g_begin, std::size_t g_end,
                                 std::int32_t* c, std::size_t ldc, std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  __m512i acc[R][P];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t p = 0; p < P; ++p) acc[r][p] = _mm512_setzero_si512();
  for (std::size_t g = g_begin; g < g_end; ++g) {
    __m512i w[P];
    for (std::size_t p = 0; p < P; ++p)
      w[p] = _mm512_loadu_si512(b + p * panel_stride + g * group_bytes);
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t four;
      std::memcpy(&four, a + r * lda + g * int8_k_group, sizeof four);
      const __m512i x = _mm512_set1_epi32(four);
      for (std::size_t p = 0; p < P; ++p) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], x, w[p]);
    }
  }
  for (std::size_t p = 0; p < P; ++p) {
    const std::size_t first = p * int8_panel_columns;
    if (first >= cols) break;
    const std::size_t count = std::min(int8_panel_columns, cols - first);
    const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
    for (std::size_t r = 0; r < R; ++r)
      _mm512_mask_storeu_epi32(c + r * ldc + first, mask, acc[r][p]);
  }
}

using TileFunction = void (*)(const std::uint8_t*, std::size_t, const std::int8_t*, std::size_t,
                              std::size_t, std::size_t, std::int32_t*, std::size_t, std::size_t);

// tiles[P - 1][R - 1]: an exact-height tile for every row count, so one row
// (batch-1 inference) costs one row's work.
template <std::size_t P, std::size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile_vnni<R + 1, P>...};
}
const std::array<std::array<TileFunction, vnni_rows>, vnni_panels> tiles = {
    tiles_for<1>(std::make_index_sequence<vnni_rows>{}),
    tiles_for<2>(std::make_index_sequence<vnni_rows>{})};

void kernel_avx512(std::size_t rows, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                   std::size_t panel_stride, std::size_t g_begin, std::size_t g_end,
                   std::int32_t* c, std::size_t ldc, std::size_t cols) {
  const std::size_t panels = (cols + int8_panel_columns - 1) / int8_panel_columns;
  tiles[panels - 1][rows - 1](a, lda, b, panel_stride, g_begin, g_end, c, ldc, cols);
}

// GCC 12's unmasked forms of min, max and the conversions fill an
// "undefined" source that -Wmaybe-uninitialized flags; the masked forms with
// an all-ones mask and a real source are the same instructions.
constexpr __mmask16 all16 = 0xFFFF;

// Tails use masked loads (zeros, which cannot move lo <= 0 <= hi) and
// masked stores.
TINYQ_AVX512_VNNI void range_avx512(const float* x, std::size_t n, float& lo, float& hi) {
  __m512 low = _mm512_setzero_ps(), high = _mm512_setzero_ps();
  for (std::size_t i = 0; i < n; i += 16) {
    const std::size_t count = std::min<std::size_t>(16, n - i);
    const __m512 v = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1u), x + i);
    low = _mm512_mask_min_ps(low, all16, v, low);  // v < low ? v : low, like the generic loop
    high = _mm512_mask_max_ps(high, all16, v, high);
  }
  alignas(64) float lows[16], highs[16];
  _mm512_store_ps(lows, low);
  _mm512_store_ps(highs, high);
  lo = hi = 0.0f;
  for (std::size_t i = 0; i < 16; ++i) {
    lo = lows[i] < lo ? lows[i] : lo;
    hi = highs[i] > hi ? highs[i] : hi;
  }
}

TINYQ_AVX512_VNNI std::uint32_t to_u8_avx512(const float* x, std::size_t n, float scale,
                                             float shift, float max_code, std::uint8_t* out) {
  const __m512 scales = _mm512_set1_ps(scale), shifts = _mm512_set1_ps(shift);
  const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(max_code);
  const __m512 half = _mm512_set1_ps(0.5f);
  __m512i sums = _mm512_setzero_si512();
  for (std::size_t i = 0; i < n; i += 16) {
    const std::size_t count = std::min<std::size_t>(16, n - i);
    const auto mask = static_cast<__mmask16>((1u << count) - 1u);
    __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), scales), shifts);
    v = _mm512_mask_max_ps(v, all16, v, zero);
    v = _mm512_mask_min_ps(v, all16, v, top);
    const __m512i codes = _mm512_maskz_cvttps_epi32(mask, _mm512_add_ps(v, half));
    sums = _mm512_add_epi32(sums, codes);
    _mm_mask_storeu_epi8(out + i, mask,
                         _mm512_mask_cvtusepi32_epi8(_mm_setzero_si128(), all16, codes));
  }
  alignas(64) std::uint32_t lanes[16];
  _mm512_store_si512(lanes, sums);
  std::uint32_t sum = 0;
  for (const std::uint32_t lane : lanes) sum += lane;
  return sum;
}

}  // namespace

Int8Kernel int8_kernel_avx512() {
  // vpdpbusd widens inside the instruction: 7-bit activations gain nothing.
  const Int8Tiles tiles{vnni_rows, vnni_panels, kernel_avx512};
  return {tiles, tiles, range_avx512, to_u8_avx512};
}

}  // namespace tinyq

#else

namespace tinyq {
Int8Kernel int8_kernel_avx512() {
  return int8_kernel_generic();
}
}  // namespace tinyq

#endif
