// The AVX2 int8 kernels and row helpers.
//
// int8_gemm (any u8 activation): 2 rows × 1 panel (16 outputs), exact 16-bit
// products. AVX2 has no vpdpbusd, and vpmaddubsw adds two u8·s8 products
// into a saturating int16 (2·255·128 = 65,280 > 32,767), which would break
// exactness. So both operands are widened to int16 first and multiplied with
// vpmaddwd, which adds each pair of 16-bit products into an int32.
//
// A packed k-group (64 bytes) is four 16-byte quarters, quarter q holding
// outputs 4q..4q+3 with their four weights each. Widened, a quarter is 16
// int16; vpmaddwd against the row's four activations (repeated 4 times)
// gives 8 int32: two half-sums per output. The halves are accumulated
// separately over k and added with one vphaddd per pair of quarters at the
// end, which leaves outputs in the order 0 1 4 5 2 3 6 7 within the 256-bit
// register; a 64-bit permute puts them back.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/kernels/int8_tile_store_avx2.hpp"

// affine_to_u8 promises the generic path's bits: a rounded product, then a
// rounded sum. g++ would fuse _mm256_mul_ps and _mm256_add_ps into one FMA
// (single rounding) under target("fma"); clang keeps them apart.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))
#define TINYQ_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline))

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

// int8_gemm_u7 (activations below 128): up to 4 rows × 1 panel.
//
// With a <= 127 and -128 <= b <= 127, a pair sum of vpmaddubsw (u8 times s8,
// neighbouring products added in int16 with saturation) is at most
// 2·127·128 = 32,512 in magnitude, inside int16's ±32,767: it never
// saturates and is exact. vpmaddwd against int16 ones then adds neighbouring
// pairs into int32, so each 32-bit lane holds a[4g..4g+3] · b[j][4g..4g+3],
// the four products of one output: exactly the packed k-group layout, where
// 32 bytes are outputs 0-7 (four weights each) and the next 32 outputs 8-15.
// Per k-group and row: one broadcast of four activations, then for each half
// of the panel vpmaddubsw, vpmaddwd, vpaddd. That is still two multiply
// instructions per 32 products, like the widening kernel's vpmaddwd; the gain
// is everything around them: no vpmovsxbw of the weights per k-group and no
// vpmovzxbw per row, no final vphaddd, and registers left for taller tiles.
// This is how fbgemm runs PyTorch's dynamic quantization on AVX2 (its
// reduce_range gives 7-bit activations).
//
// 4 rows: 8 accumulators + 2 weight registers + the broadcast + the ones.
// Measured at 48 × 784 × 256 on one core (Zen 3): 98 G multiply-adds/s at 4
// rows, 81 at 5 and 88 at 6, where g++ 12 keeps accumulators on the stack;
// the widening kernel does 51. Two multiply uops (vpmaddubsw, vpmaddwd) per
// 32 products on Zen 3's two multiply pipes bound it at 32 per cycle, and 98
// G/s at the ~3.1 GHz a chain of dependent adds measures there is 31.6: 4
// rows is at that bound. Every row count 1..4 has its own tile, so
// a short block (batch 1) does only its rows' work.
constexpr std::size_t u7_rows = 4;

// Listed: the k-groups are groups[t] for t in [g_begin, g_end) (the sparse
// entry, Int8ListedFunction); otherwise g itself runs over that range. In
// blocks of 48 rows (784 × 256, one core, best of 30 passes over 2000 test
// images, pixels halved) the lists took 2.23 -> 2.07 us per image on
// Fashion-MNIST, where 11% of a 4-row tile's k-groups are zero in all four
// rows, and 2.18 -> 1.27 on MNIST (51%).
template <std::size_t R, bool Listed>
TINYQ_AVX2 void tile_u7(const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                        const std::uint32_t* groups, std::size_t g_begin, std::size_t g_end,
                        std::int32_t* c, std::size_t ldc, std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[R][2];
  for (std::size_t r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (std::size_t t = g_begin; t < g_end; ++t) {
    const std::size_t g = Listed ? groups[t] : t;
    const auto* group = reinterpret_cast<const __m256i*>(b + g * group_bytes);
    const __m256i w0 = _mm256_loadu_si256(group), w1 = _mm256_loadu_si256(group + 1);
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t four;
      std::memcpy(&four, a + r * lda + g * int8_k_group, sizeof four);
      const __m256i x = _mm256_set1_epi32(four);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones));
    }
  }
  store_int32_tile(acc, c, ldc, cols);
}

using TileFunction = void (*)(const std::uint8_t*, std::size_t, const std::int8_t*,
                              const std::uint32_t*, std::size_t, std::size_t, std::int32_t*,
                              std::size_t, std::size_t);

template <bool Listed, std::size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> u7_tiles_for(std::index_sequence<R...>) {
  return {tile_u7<R + 1, Listed>...};
}
const std::array<TileFunction, u7_rows> u7_tiles =
    u7_tiles_for<false>(std::make_index_sequence<u7_rows>{});
const std::array<TileFunction, u7_rows> u7_listed_tiles =
    u7_tiles_for<true>(std::make_index_sequence<u7_rows>{});

// int8_gemm_u7 on one row over the listed k-groups:
// tile_u7<1>'s loop with the group taken from the list, for P panels at once.
// Measured at 784 × 256, one row, the first 1000 test images (best of 40
// passes, one core): 2.64 -> 2.09 us on Fashion-MNIST's pixels (halved to
// 0..127; 38% of its k-groups are zero), 2.27 -> 1.14 us on MNIST's, one
// panel per pass over the list. With P panels per pass each listed group's
// index, broadcast and loop step serve P panels, and the 2·P sums are
// independent chains: up to 4 panels per pass measured 2.06 -> 1.90 us on
// Fashion-MNIST and 1.15 -> 1.08 us on MNIST (same setup, old and new builds
// alternated, best of 6 runs each).
template <std::size_t P>
TINYQ_AVX2 void row_groups_u7_panels(const std::uint8_t* a, const std::uint32_t* groups,
                                     std::size_t count, const std::int8_t* b,
                                     std::size_t panel_stride, std::int32_t* c, std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[P][2];
  for (std::size_t p = 0; p < P; ++p) acc[p][0] = acc[p][1] = _mm256_setzero_si256();
  const auto add_group = [&](std::size_t g) TINYQ_AVX2_INLINE {
    std::int32_t four;
    std::memcpy(&four, a + g * int8_k_group, sizeof four);
    const __m256i x = _mm256_set1_epi32(four);
    for (std::size_t p = 0; p < P; ++p) {
      const auto* group = reinterpret_cast<const __m256i*>(b + p * panel_stride + g * group_bytes);
      acc[p][0] = _mm256_add_epi32(
          acc[p][0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, _mm256_loadu_si256(group)), ones));
      acc[p][1] = _mm256_add_epi32(
          acc[p][1],
          _mm256_madd_epi16(_mm256_maddubs_epi16(x, _mm256_loadu_si256(group + 1)), ones));
    }
  };
  walk_list<P>(groups, count, add_group);
  store_int32_panels(acc, c, cols);
}

// Panels per pass: 4 panels hold 8 sums, which leaves registers for the
// broadcast, the constant and the products.
constexpr std::size_t row_panels = 4;

using RowGroupsPanelsFunction = void (*)(const std::uint8_t*, const std::uint32_t*, std::size_t,
                                         const std::int8_t*, std::size_t, std::int32_t*,
                                         std::size_t);

template <std::size_t... P>
constexpr std::array<RowGroupsPanelsFunction, sizeof...(P)> row_u7_for(std::index_sequence<P...>) {
  return {row_groups_u7_panels<P + 1>...};
}
const std::array<RowGroupsPanelsFunction, row_panels> row_u7 =
    row_u7_for(std::make_index_sequence<row_panels>{});

// int8_gemm_u7's sparse entry (Int8ListedFunction): one row takes up to
// row_panels panels per pass over its list, more rows a tile per panel.
void listed_u7(std::size_t rows, const std::uint8_t* a, std::size_t lda,
               const std::uint32_t* groups, std::size_t count, const std::int8_t* b,
               std::size_t panel_stride, std::size_t panels, std::int32_t* c, std::size_t ldc,
               std::size_t cols) {
  const std::size_t step = rows == 1 ? row_panels : 1;
  for (std::size_t p = 0; p < panels; p += step) {
    const std::size_t n = std::min(step, panels - p);
    const std::size_t j = p * int8_panel_columns;
    const std::size_t width = std::min(n * int8_panel_columns, cols - j);
    if (rows == 1)
      row_u7[n - 1](a, groups, count, b + p * panel_stride, panel_stride, c + j, width);
    else
      u7_listed_tiles[rows - 1](a, lda, b + p * panel_stride, groups, 0, count, c + j, ldc, width);
  }
}

// int8_gemm_u7's entry for a list per row (Int8RowListsFunction): each row
// walks its own list over the one panel, which stays in L1 (12.5 KB at k =
// 784). Blocks of 48 rows, 784 × 256, one core, pixels halved, the two
// entries alternated block by block over 2000 test images (40 rounds, median
// ratio of round times): row lists / tile lists 0.68 on Fashion-MNIST (38%
// of a row's k-groups are zero, 11% of a 4-row tile's) and 0.67 on MNIST;
// unrolled by 2 rather than 4, 0.78 and 0.71. With no zeros at all the row
// entry took 1.08-1.15x the tiles' time: row_list_cost, below.
void row_lists_u7(std::size_t rows, const std::uint8_t* a, std::size_t lda,
                  const std::uint32_t* groups, std::size_t list_stride, const std::size_t* counts,
                  const std::int8_t* b, std::int32_t* c, std::size_t ldc, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r)
    row_groups_u7_panels<1>(a + r * lda, groups + r * list_stride, counts[r], b, 0, c + r * ldc,
                            cols);
}

void kernel_u7(std::size_t rows, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
               std::size_t, std::size_t g_begin, std::size_t g_end, std::int32_t* c,
               std::size_t ldc, std::size_t cols) {
  u7_tiles[rows - 1](a, lda, b, nullptr, g_begin, g_end, c, ldc, cols);
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

// list_nonzero_words, 8 words at a time: vpcmpeqd and vmovmskps give an
// 8-bit mask of the words that are nonzero (in one of the rows, OR-ed
// first), a table gives the positions of the mask's set bits, packed, and
// those plus the first word's index are stored in one go: 8 values, of
// which the count keeps popcount(mask). The stores never pass out's room
// (end - begin): at most the words seen so far are kept, plus 8. The last
// end - begin mod 8 words go the plain way. One row of 784 test pixels
// (196 words), one core, 30 alternated rounds over 2000 images: 248 -> 74 ns
// on Fashion-MNIST, 244 -> 82 ns on MNIST (0.34x and 0.37x).
TINYQ_AVX2 std::size_t list_nonzero_words_avx2(const void* bytes, std::size_t row_bytes,
                                               std::size_t rows, std::size_t begin, std::size_t end,
                                               std::uint32_t* out) {
  static constexpr std::array<std::uint64_t, 256> positions = [] {
    std::array<std::uint64_t, 256> table{};
    for (unsigned mask = 0; mask < 256; ++mask)
      for (unsigned bit = 0, kept = 0; bit < 8; ++bit)
        if ((mask >> bit) & 1u) table[mask] |= std::uint64_t{bit} << (8 * kept++);
    return table;
  }();
  const auto* first = static_cast<const std::uint8_t*>(bytes);
  std::size_t count = 0, w = begin;
  for (; w + 8 <= end; w += 8) {
    __m256i any = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(first + 4 * w));
    for (std::size_t r = 1; r < rows; ++r)
      any = _mm256_or_si256(
          any, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(first + r * row_bytes + 4 * w)));
    const auto zero = static_cast<unsigned>(
        _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(any, _mm256_setzero_si256()))));
    const unsigned nonzero = ~zero & 0xFFu;
    const __m256i index = _mm256_add_epi32(
        _mm256_set1_epi32(static_cast<std::int32_t>(w)),
        _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(positions[nonzero]))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + count), index);
    count += static_cast<std::size_t>(std::popcount(nonzero));
  }
  return count + list_nonzero_words(bytes, row_bytes, rows, w, end, out + count);
}

namespace {

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
  // In locals: through the references, each lane's fold would be stored
  // and reloaded (int8_gemm_avx512.cpp's range_avx512).
  float low_total = tail_lo, high_total = tail_hi;
  for (std::size_t l = 0; l < 8; ++l) {
    low_total = lows[l] < low_total ? lows[l] : low_total;
    high_total = highs[l] > high_total ? highs[l] : high_total;
  }
  lo = low_total;
  hi = high_total;
}

// Same steps as affine_to_u8_generic: v = x·scale (rounded), + shift
// (rounded); max(v, 0) turns NaN into 0 like `v > 0 ? v : 0`; truncating
// v + 0.5 >= 0 rounds half up. The int32 codes (0..top) become bytes by
// two saturating packs (which cannot saturate here); the packs work within
// 128-bit halves, so one 32-bit permute puts the 4-byte pieces back in order.
TINYQ_AVX2 std::uint32_t to_u8_avx2(const float* x, std::size_t n, float scale, float shift,
                                    float max_code, std::uint8_t* out) {
  const __m256 scales = _mm256_set1_ps(scale), shifts = _mm256_set1_ps(shift);
  const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(max_code);
  const __m256 half = _mm256_set1_ps(0.5f);
  __m256i sums = _mm256_setzero_si256();
  std::size_t i = 0;
  const auto codes_of = [&](const float* from) TINYQ_AVX2 {
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
  std::uint32_t sum = affine_to_u8_generic(x + i, n - i, scale, shift, max_code, out + i);
  for (const std::uint32_t lane : lanes) sum += lane;
  return sum;
}

}  // namespace

Int8Kernel int8_kernel_avx2() {
  return {{avx2_rows, 1, kernel_avx2},
          {u7_rows, 1, kernel_u7, listed_u7, row_lists_u7, list_nonzero_words_avx2, 8.0 / 7.0},
          range_avx2,
          to_u8_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
Int8Kernel int8_kernel_avx2() {
  return int8_kernel_generic();
}
}  // namespace tinyq

#endif
