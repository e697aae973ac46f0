// int8_gemm_wide's AVX2 kernel: int16 weight pairs (packed once) times int16
// activation pairs (widened once per call), vpmaddwd into int32.
//
// Per pair of inputs and row: one 32-bit broadcast of the row's two int16
// activations, then for each half of the 16-output panel one vpmaddwd (16
// products, added in pairs into the 8 outputs' int32 lanes) and one vpaddd.
// That is two multiply instructions per 32 products, as in int8_gemm_u7's
// vpmaddubsw + vpmaddwd; unlike int8_gemm's AVX2 kernel there is no widening
// in the loop, no horizontal add at the end, and the tile is taller.
//
// Tile: up to wide_rows rows × one panel: 2 accumulators per row, 2 weight
// registers and the broadcast; the pair loop is unrolled by 4 (rolled, g++ 12
// measured 37-57 G/s: the loop's bookkeeping competes with the 8 vpmaddwd +
// 8 vpaddd for issue slots). Measured at 48 × 784 × 256 on one core (Zen 3,
// shared machine, best of 20): 64-68 G multiply-adds/s at 3 rows, 68-75 at 4,
// 69-70 at 5, where int8_gemm's widening kernel does 49 and int8_gemm_u7
// 90-95. Two panels × 2 or 3 rows, 6 rows, and blocking k so a panel stays in
// L1 (25 KB at k = 784) measured no better. Per 32 products this kernel
// issues 2 vpmaddwd + 2 vpaddd + 1 broadcast against the u7 kernel's 2
// multiplies + 1 vpaddd + 0.5 broadcast, which is about the gap.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t wide_rows = 4;
constexpr std::size_t pair_values = 2 * int8_panel_columns;

// Rows a[r][0 .. 2·k_pairs) widened to int16 (u8 -> zero-extended).
TINYQ_AVX2 void widen_rows(std::size_t m, const std::uint8_t* a, std::size_t lda, std::size_t width,
                           std::int16_t* out) {
  for (std::size_t r = 0; r < m; ++r) {
    const std::uint8_t* from = a + r * lda;
    std::int16_t* to = out + r * width;
    std::size_t i = 0;
    for (; i + 16 <= width; i += 16)
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(to + i),
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(from + i))));
    for (; i < width; ++i) to[i] = from[i];
  }
}

// C for R rows of widened a (row stride lda int16) and one panel; writes the
// first `cols` columns.
// The weights of pair p of a panel as int16: loaded, or widened from bytes.
TINYQ_AVX2 inline void load_pair(const std::int16_t* panel, std::size_t p, __m256i& w0,
                                 __m256i& w1) {
  const auto* w = reinterpret_cast<const __m256i*>(panel + p * pair_values);
  w0 = _mm256_loadu_si256(w);
  w1 = _mm256_loadu_si256(w + 1);
}
TINYQ_AVX2 inline void load_pair(const std::int8_t* panel, std::size_t p, __m256i& w0,
                                 __m256i& w1) {
  const auto* w = reinterpret_cast<const __m128i*>(panel + p * pair_values);
  w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w));
  w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1));
}

template <std::size_t R, typename Weight>
TINYQ_AVX2 void tile_wide(const std::int16_t* a, std::size_t lda, const Weight* panel,
                          std::size_t k_pairs, std::int32_t* c, std::size_t ldc, std::size_t cols) {
  __m256i acc[R][2];
  for (std::size_t r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
#pragma GCC unroll 4  // see the tile's measurements above
  for (std::size_t p = 0; p < k_pairs; ++p) {
    __m256i w0, w1;
    load_pair(panel, p, w0, w1);
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t two;
      std::memcpy(&two, a + r * lda + 2 * p, sizeof two);
      const __m256i x = _mm256_set1_epi32(two);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x, w0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x, w1));
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    if (cols >= int8_panel_columns) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), acc[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), acc[r][1]);
    } else {
      alignas(32) std::int32_t sums[int8_panel_columns];
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums), acc[r][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8), acc[r][1]);
      std::copy(sums, sums + cols, c + r * ldc);
    }
  }
}

template <typename Weight>
using TileFunction = void (*)(const std::int16_t*, std::size_t, const Weight*, std::size_t,
                              std::int32_t*, std::size_t, std::size_t);

template <typename Weight, std::size_t... R>
constexpr std::array<TileFunction<Weight>, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile_wide<R + 1, Weight>...};
}
// One tile per row count, so a short block (batch 1) does only its rows' work.
const auto tiles = tiles_for<std::int16_t>(std::make_index_sequence<wide_rows>{});
const auto byte_tiles = tiles_for<std::int8_t>(std::make_index_sequence<wide_rows>{});

#ifndef TINYQ_WIDE_BYTE_ROWS
#define TINYQ_WIDE_BYTE_ROWS 2
#endif
constexpr std::size_t byte_rows = TINYQ_WIDE_BYTE_ROWS;

template <typename Weight>
TINYQ_AVX2 void run_panels(std::size_t m, const std::int16_t* wide, std::size_t width,
                           const std::array<TileFunction<Weight>, wide_rows>& kernels,
                           const Weight* pairs, std::size_t k_pairs, std::size_t n,
                           std::size_t panel_begin, std::size_t panel_end, std::int32_t* c,
                           std::size_t ldc) {
  const std::size_t panel_size = k_pairs * pair_values;
  for (std::size_t panel = panel_begin; panel < panel_end; ++panel) {
    const std::size_t j = panel * int8_panel_columns;
    const std::size_t cols = std::min(int8_panel_columns, n - j);
    for (std::size_t r = 0; r < m; r += wide_rows)
      kernels[std::min(wide_rows, m - r) - 1](wide + r * width, width, pairs + panel * panel_size,
                                              k_pairs, c + r * ldc + j, ldc, cols);
  }
}

}  // namespace

void int8_gemm_wide_avx2(std::size_t m, const std::uint8_t* a, std::size_t lda,
                         const Int8WidePanels& b, std::size_t panel_begin, std::size_t panel_end,
                         std::int32_t* c, std::size_t ldc) {
  // The widened rows (48 rows × 784 inputs: 75 KB) stay in L2; panels
  // outside, rows inside, so a panel (25 KB at k = 784) stays in L1.
  const std::size_t width = 2 * b.k_pairs;
  thread_local std::vector<std::int16_t> wide;
  wide.resize(std::max(wide.size(), m * width));
  widen_rows(m, a, lda, width, wide.data());
  if (m <= byte_rows)
    run_panels(m, wide.data(), width, byte_tiles, b.pair_bytes.data(), b.k_pairs, b.n(),
               panel_begin, panel_end, c, ldc);
  else
    run_panels(m, wide.data(), width, tiles, b.pairs.data(), b.k_pairs, b.n(), panel_begin,
               panel_end, c, ldc);
}

}  // namespace tinyq

#else

namespace tinyq {
// No AVX2 on this architecture: supported() refuses Isa::avx2, so this is
// never reached.
void int8_gemm_wide_avx2(std::size_t, const std::uint8_t*, std::size_t, const Int8WidePanels&,
                         std::size_t, std::size_t, std::int32_t*, std::size_t) {}
}  // namespace tinyq

#endif
