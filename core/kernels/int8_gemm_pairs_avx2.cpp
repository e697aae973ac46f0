// int8_gemm_pairs' AVX2 kernel: int8 weight pairs widened to int16 in the
// loop, times int16 activation pairs (widened once per call), vpmaddwd into
// int32.
//
// Per pair of inputs and panel: two vpmovsxbw loads give the 16 outputs'
// weights for inputs 2p, 2p+1 as int16. Then per row one 32-bit broadcast of
// the row's two int16 activations and, for each half of the panel, one
// vpmaddwd (16 products, added in pairs into the 8 outputs' int32 lanes) and
// one vpaddd. Unlike int8_gemm's AVX2 kernel there is no widening of the
// activations in the loop, no horizontal add at the end, and the tile is
// taller (4 rows share each widened weight pair).
//
// Tile: up to pair_rows rows × one panel: 2 accumulators per row, 2 weight
// registers and the broadcast; the pair loop is unrolled by 4 (rolled, g++ 12
// measured 37-57 G/s: the loop's bookkeeping competes with the vpmaddwd and
// vpaddd for issue slots). Measured at 48 × 784 × 256 on one core (Zen 3,
// shared machine, best of 20): 71-77 G multiply-adds/s, where int8_gemm's
// widening kernel does 49 and int8_gemm_u7 90-95; one row (batch 1) 3.5 us.
// Also measured, no better: weights stored as int16 when packed (69-74 G/s
// at 48 rows, and 5.3-6.0 us at one row, twice the bytes to stream); 3, 5
// or 6 rows; two panels × 2 or 3 rows; blocking k so a panel stays in L1.
// Per 32 products this kernel issues 2 vpmaddwd + 2 vpaddd + 1 broadcast
// against the u7 kernel's 2 multiplies + 1 vpaddd + 0.5 broadcast.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/kernels/int8_tile_store_avx2.hpp"

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))
#define TINYQ_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline))

namespace tinyq {

namespace {

constexpr std::size_t pair_rows = 4;
constexpr std::size_t pair_values = 2 * int8_panel_columns;

// Rows a[r][0 .. width) widened to int16 (u8 -> zero-extended).
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

// C for R rows of widened a (row stride lda int16) and one panel of weight
// pairs; writes the first `cols` columns. Listed: the input pairs are
// pairs[t] for t < k_pairs (those nonzero in some row of the tile);
// otherwise all pairs 0 .. k_pairs - 1.
template <std::size_t R, bool Listed>
TINYQ_AVX2 void tile_pairs(const std::int16_t* a, std::size_t lda, const std::int8_t* panel,
                           const std::uint32_t* pairs, std::size_t k_pairs, std::int32_t* c,
                           std::size_t ldc, std::size_t cols) {
  __m256i acc[R][2];
  for (std::size_t r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
#pragma GCC unroll 4  // see the measurements above
  for (std::size_t t = 0; t < k_pairs; ++t) {
    const std::size_t p = Listed ? pairs[t] : t;
    const auto* w = reinterpret_cast<const __m128i*>(panel + p * pair_values);
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1));
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t two;
      std::memcpy(&two, a + r * lda + 2 * p, sizeof two);
      const __m256i x = _mm256_set1_epi32(two);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x, w0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x, w1));
    }
  }
  store_int32_tile(acc, c, ldc, cols);
}

// One widened row and P panels over the listed input pairs only (a pair
// whose two activations are zero adds nothing): tile_pairs<1> with the pair
// taken from the list. At batch 1 most pixel pairs of an MNIST image, and
// many codes after a ReLU, are zero. Measured at 784 × 256, one row, the
// first 1000 test images (best of 40 passes, one core), one panel per pass:
// 3.56 -> 2.87 us on Fashion-MNIST (44% of its pixel pairs are zero), 3.93 ->
// 1.63 us on MNIST. A software prefetch of the weights six pairs ahead
// measured slower. With P panels per pass each listed pair's index,
// broadcast and loop step serve P panels: up to 4 per pass measured 2.88 ->
// 2.45 us on Fashion-MNIST and 1.58 -> 1.43 us on MNIST (old and new builds
// alternated, best of 6 runs each); up to 2 per pass 2.75 us, and the loop
// unrolled by 1 instead of 2, 2.65 us.
template <std::size_t P>
TINYQ_AVX2 void row_pairs_panels(const std::int16_t* a, const std::uint32_t* pairs,
                                 std::size_t count, const std::int8_t* panels,
                                 std::size_t panel_size, std::int32_t* c, std::size_t cols) {
  __m256i acc[P][2];
  for (std::size_t q = 0; q < P; ++q) acc[q][0] = acc[q][1] = _mm256_setzero_si256();
  const auto add_pair = [&](std::size_t p) TINYQ_AVX2_INLINE {
    std::int32_t two;
    std::memcpy(&two, a + 2 * p, sizeof two);
    const __m256i x = _mm256_set1_epi32(two);
    for (std::size_t q = 0; q < P; ++q) {
      const auto* w = reinterpret_cast<const __m128i*>(panels + q * panel_size + p * pair_values);
      acc[q][0] = _mm256_add_epi32(acc[q][0],
                                   _mm256_madd_epi16(x, _mm256_cvtepi8_epi16(_mm_loadu_si128(w))));
      acc[q][1] = _mm256_add_epi32(
          acc[q][1], _mm256_madd_epi16(x, _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1))));
    }
  };
  walk_list<P>(pairs, count, add_pair);
  store_int32_panels(acc, c, cols);
}

// Panels per pass: 4 panels hold 8 sums, which leaves registers for the
// broadcast and the widened weights.
constexpr std::size_t row_panels = 4;

using RowPairsFunction = void (*)(const std::int16_t*, const std::uint32_t*, std::size_t,
                                  const std::int8_t*, std::size_t, std::int32_t*, std::size_t);

template <std::size_t... P>
constexpr std::array<RowPairsFunction, sizeof...(P)> row_pairs_for(std::index_sequence<P...>) {
  return {row_pairs_panels<P + 1>...};
}
const std::array<RowPairsFunction, row_panels> row_pairs =
    row_pairs_for(std::make_index_sequence<row_panels>{});

using TileFunction = void (*)(const std::int16_t*, std::size_t, const std::int8_t*,
                              const std::uint32_t*, std::size_t, std::int32_t*, std::size_t,
                              std::size_t);

template <bool Listed, std::size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile_pairs<R + 1, Listed>...};
}
// One tile per row count, so a short block (batch 1) does only its rows' work.
const std::array<TileFunction, pair_rows> tiles =
    tiles_for<false>(std::make_index_sequence<pair_rows>{});
const std::array<TileFunction, pair_rows> listed_tiles =
    tiles_for<true>(std::make_index_sequence<pair_rows>{});

}  // namespace

void int8_gemm_pairs_avx2(std::size_t m, const std::uint8_t* a, std::size_t lda,
                          const Int8PairPanels& b, std::size_t panel_begin, std::size_t panel_end,
                          std::int32_t* c, std::size_t ldc) {
  // The widened rows (48 rows × 784 inputs: 75 KB) stay in L2; panels
  // outside, rows inside, so a panel (12.5 KB at k = 784) stays in L1.
  const std::size_t width = 2 * b.k_pairs;
  thread_local std::vector<std::int16_t> wide;
  wide.resize(std::max(wide.size(), m * width));
  widen_rows(m, a, lda, width, wide.data());
  const std::size_t panel_size = b.k_pairs * pair_values;
  // Per row, or per tile of rows, the input pairs holding a nonzero
  // activation (a pair of int16 is one 4-byte word); a pair that is zero in
  // every row of the tile adds nothing to their sums. In blocks of 48 rows
  // (784 × 256, one core, best of 30 passes over 2000 test images) lists per
  // tile took 3.05 -> 2.57 us per image on Fashion-MNIST's pixels (16% of a
  // tile's pairs are zero in all four rows), 2.73 -> 1.46 on MNIST's (57%).
  // A row walking its own list alone (row_pairs_panels<1>, one panel) is
  // bound by loads, a broadcast and an index per 32 products: walking the
  // rows' lists took 0.99x the tiles' time on Fashion-MNIST while listing
  // 56% of the pairs against 84%, so a listed product costs about 1.5x a
  // tile's (list_block's row_cost).
  thread_local BlockLists lists;
  const std::size_t row_bytes = width * sizeof(std::int16_t);
  list_block(list_nonzero_words_avx2, wide.data(), row_bytes, m, pair_rows, 0, b.k_pairs, 1.5,
             lists);
  if (m == 1) {  // its own tile
    for (std::size_t panel = panel_begin; panel < panel_end; panel += row_panels) {
      const std::size_t panels = std::min(row_panels, panel_end - panel);
      const std::size_t j = panel * int8_panel_columns;
      row_pairs[panels - 1](wide.data(), lists.tiles.data(), lists.tile_counts[0],
                            b.pairs.data() + panel * panel_size, panel_size, c + j,
                            std::min(panels * int8_panel_columns, b.n() - j));
    }
    return;
  }
  // Panels outside, rows inside: the panel stays in L1 while the rows or
  // tiles walk their lists over it.
  for (std::size_t panel = panel_begin; panel < panel_end; ++panel) {
    const std::int8_t* weights = b.pairs.data() + panel * panel_size;
    const std::size_t j = panel * int8_panel_columns;
    const std::size_t cols = std::min(int8_panel_columns, b.n() - j);
    if (lists.by_rows) {
      for (std::size_t r = 0; r < m; ++r)
        row_pairs_panels<1>(wide.data() + r * width, lists.rows.data() + r * b.k_pairs,
                            lists.row_counts[r], weights, panel_size, c + r * ldc + j, cols);
      continue;
    }
    for (std::size_t t = 0; t * pair_rows < m; ++t) {
      const std::size_t r = t * pair_rows, rows = std::min(pair_rows, m - r);
      const std::size_t count = lists.tile_counts[t];
      const bool listed = count < b.k_pairs;
      (listed ? listed_tiles : tiles)[rows - 1](
          wide.data() + r * width, width, weights, lists.tiles.data() + t * b.k_pairs,
          listed ? count : b.k_pairs, c + r * ldc + j, ldc, cols);
    }
  }
}

}  // namespace tinyq

#else

namespace tinyq {
// No AVX2 on this architecture: supported() refuses Isa::avx2, so this is
// never reached.
void int8_gemm_pairs_avx2(std::size_t, const std::uint8_t*, std::size_t, const Int8PairPanels&,
                          std::size_t, std::size_t, std::int32_t*, std::size_t) {}
}  // namespace tinyq

#endif
