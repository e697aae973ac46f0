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
// Why 6 rows: before vpdpbusd went through asm (vnni_avx512.hpp), g++ 12
// shuffled the accumulators of 8 × 2 and 12 × 2 tiles between registers
// and the stack (120-160 G multiply-adds/s on one core at 480 × 784 × 256,
// against ~280 at 6 × 2). With the asm every height keeps its sums in
// registers, and dynamic int8 on the whole Fashion-MNIST test set took as
// long with 10 or 12 rows as with 6 (median of 5 alternated runs, within
// 0.5%), 3% longer with 8: the kernel is no longer where that time goes.
//
// Zero activations: a k-group whose four bytes are zero in every row of a
// tile adds nothing, so, as on AVX2, each tile (or each row, see
// vnni_row_list_cost) walks only its list of nonzero k-groups (list_block).
// One row (batch 1) shares its list between 8 panels per pass. Batch 1,
// 784 × 256 × 128 × 10 static int8, one core: 2.35 -> 1.59 us per
// Fashion-MNIST test image.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/kernels/vnni_avx512.hpp"

// affine_to_u8 promises the generic path's bits: a rounded product, then a
// rounded sum. g++ would fuse _mm512_mul_ps and _mm512_add_ps into one FMA
// (single rounding) by default; clang keeps them apart.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace tinyq {

namespace {

constexpr std::size_t vnni_rows = 6;
constexpr std::size_t vnni_panels = 2;

// One row's P panels of sums, side by side, to c[0 .. cols) (cols > 16 · (P
// - 1)); the last panel's columns past cols are masked off, never written.
template <std::size_t P>
TINYQ_AVX512_VNNI inline void store_panels(const __m512i (&acc)[P], std::int32_t* c,
                                           std::size_t cols) {
  for (std::size_t p = 0; p < P; ++p) {
    const std::size_t count = std::min(int8_panel_columns, cols - p * int8_panel_columns);
    _mm512_mask_storeu_epi32(c + p * int8_panel_columns, static_cast<__mmask16>((1u << count) - 1u),
                             acc[p]);
  }
}

// Listed: the k-groups are groups[t] for t in [t_begin, t_end) (the sparse
// entry, Int8ListedFunction); otherwise g itself runs over that range.
template <std::size_t R, std::size_t P, bool Listed>
TINYQ_AVX512_VNNI void tile_vnni(const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                                 std::size_t panel_stride, const std::uint32_t* groups,
                                 std::size_t t_begin, std::size_t t_end, std::int32_t* c,
                                 std::size_t ldc, std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  __m512i acc[R][P];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t p = 0; p < P; ++p) acc[r][p] = _mm512_setzero_si512();
  for (std::size_t t = t_begin; t < t_end; ++t) {
    const std::size_t g = Listed ? groups[t] : t;
    __m512i w[P];
    for (std::size_t p = 0; p < P; ++p)
      w[p] = _mm512_loadu_si512(b + p * panel_stride + g * group_bytes);
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t four;
      std::memcpy(&four, a + r * lda + g * int8_k_group, sizeof four);
      const __m512i x = _mm512_set1_epi32(four);
      for (std::size_t p = 0; p < P; ++p) acc[r][p] = dpbusd(acc[r][p], x, w[p]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) store_panels(acc[r], c + r * ldc, cols);
}

using TileFunction = void (*)(const std::uint8_t*, std::size_t, const std::int8_t*, std::size_t,
                              const std::uint32_t*, std::size_t, std::size_t, std::int32_t*,
                              std::size_t, std::size_t);

// tiles[P - 1][R - 1]: an exact-height tile for every row count, so one row
// (batch-1 inference) costs one row's work.
template <bool Listed, std::size_t P, std::size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile_vnni<R + 1, P, Listed>...};
}
template <bool Listed>
constexpr std::array<std::array<TileFunction, vnni_rows>, vnni_panels> tile_table = {
    tiles_for<Listed, 1>(std::make_index_sequence<vnni_rows>{}),
    tiles_for<Listed, 2>(std::make_index_sequence<vnni_rows>{})};

void kernel_avx512(std::size_t rows, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                   std::size_t panel_stride, std::size_t g_begin, std::size_t g_end,
                   std::int32_t* c, std::size_t ldc, std::size_t cols) {
  const std::size_t panels = (cols + int8_panel_columns - 1) / int8_panel_columns;
  tile_table<false>[panels - 1][rows - 1](a, lda, b, panel_stride, nullptr, g_begin, g_end, c, ldc,
                                          cols);
}

// One row over its listed k-groups, P panels per pass: each listed group's
// index and broadcast serve P panels, and the P sums are independent chains
// (one chain alone would wait on each vpdpbusd's latency).
template <std::size_t P>
TINYQ_AVX512_VNNI void row_groups_vnni(const std::uint8_t* a, const std::uint32_t* groups,
                                       std::size_t count, const std::int8_t* b,
                                       std::size_t panel_stride, std::int32_t* c,
                                       std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  __m512i acc[P];
  for (std::size_t p = 0; p < P; ++p) acc[p] = _mm512_setzero_si512();
  for (std::size_t t = 0; t < count; ++t) {
    const std::size_t g = groups[t];
    std::int32_t four;
    std::memcpy(&four, a + g * int8_k_group, sizeof four);
    const __m512i x = _mm512_set1_epi32(four);
    for (std::size_t p = 0; p < P; ++p)
      acc[p] = dpbusd(acc[p], x, _mm512_loadu_si512(b + p * panel_stride + g * group_bytes));
  }
  store_panels(acc, c, cols);
}

// Panels per pass of one row: 8 sums, so a 256-wide layer takes two passes.
constexpr std::size_t row_panels = 8;

using RowGroupsFunction = void (*)(const std::uint8_t*, const std::uint32_t*, std::size_t,
                                   const std::int8_t*, std::size_t, std::int32_t*, std::size_t);
template <std::size_t... P>
constexpr std::array<RowGroupsFunction, sizeof...(P)> row_groups_for(std::index_sequence<P...>) {
  return {row_groups_vnni<P + 1>...};
}
constexpr std::array<RowGroupsFunction, row_panels> row_groups =
    row_groups_for(std::make_index_sequence<row_panels>{});

// The sparse entry (Int8ListedFunction): one row takes up to row_panels
// panels per pass over its list, more rows a tile of up to 2 panels.
void listed_vnni(std::size_t rows, const std::uint8_t* a, std::size_t lda,
                 const std::uint32_t* groups, std::size_t count, const std::int8_t* b,
                 std::size_t panel_stride, std::size_t panels, std::int32_t* c, std::size_t ldc,
                 std::size_t cols) {
  const std::size_t step = rows == 1 ? row_panels : vnni_panels;
  for (std::size_t p = 0; p < panels; p += step) {
    const std::size_t n = std::min(step, panels - p), j = p * int8_panel_columns;
    const std::size_t width = std::min(n * int8_panel_columns, cols - j);
    if (rows == 1)
      row_groups[n - 1](a, groups, count, b + p * panel_stride, panel_stride, c + j, width);
    else
      tile_table<true>[n - 1][rows - 1](a, lda, b + p * panel_stride, panel_stride, groups, 0,
                                        count, c + j, ldc, width);
  }
}

TINYQ_AVX512_VNNI void row_list_vnni(const std::uint8_t* a, const std::uint32_t* groups,
                                     std::size_t count, const std::int8_t* b, std::int32_t* c,
                                     std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  __m512i acc[4];
  for (auto& sum : acc) sum = _mm512_setzero_si512();
  const auto add_group = [&](std::size_t chain, std::size_t g) TINYQ_AVX512_VNNI_INLINE {
    std::int32_t four;
    std::memcpy(&four, a + g * int8_k_group, sizeof four);
    acc[chain] =
        dpbusd(acc[chain], _mm512_set1_epi32(four), _mm512_loadu_si512(b + g * group_bytes));
  };
  std::size_t t = 0;
  for (; t + 4 <= count; t += 4)
    for (std::size_t chain = 0; chain < 4; ++chain) add_group(chain, groups[t + chain]);
  for (; t < count; ++t) add_group(0, groups[t]);
  const __m512i sum[1] = {
      _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3]))};
  store_panels(sum, c, cols);
}

// What a listed product costs when each row walks its own list, a 6 × 2
// tile's costing 1 (list_block's row_cost). A lone row loads a weight
// vector and a broadcast for every vpdpbusd, where the tile loads 8 for 12,
// so rows only pay where their lists are far shorter than their tile's.
// Whole test set, 2 threads, Zen 5, 10 rounds alternated with tile lists
// only (median time ratio, dynamic / static 8-bit): cost 1 gave 1.42 / 1.30,
// 2 gave 1.02 / 1.03, 3 gave 0.995 / 0.994 on Fashion-MNIST and 0.976 /
// 0.969 on MNIST's pixels, 4 gave 1.01 / 1.01.
constexpr double vnni_row_list_cost = 3.0;

// A list per row (Int8RowListsFunction): each row walks its own list over
// the one panel, which stays in L1 (12.5 KB at k = 784). One panel is one
// chain of sums, so the list is walked four groups at a time into four
// sums, added at the end (integer sums, so the order changes nothing).
void row_lists_vnni(std::size_t rows, const std::uint8_t* a, std::size_t lda,
                    const std::uint32_t* groups, std::size_t list_stride, const std::size_t* counts,
                    const std::int8_t* b, std::int32_t* c, std::size_t ldc, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r)
    row_list_vnni(a + r * lda, groups + r * list_stride, counts[r], b, c + r * ldc, cols);
}

}  // namespace

// list_nonzero_words, 16 words at a time: vptestmd gives the mask of the
// words that are nonzero (in one of the rows, OR-ed first), vpcompressd packs
// those words' indices to the front of a register, and all 16 lanes are
// stored, of which the count keeps popcount(mask). The stores never pass
// out's room (end - begin): at most the words seen so far are kept, plus 16.
// The last end - begin mod 16 words go the plain way.
TINYQ_AVX512_VNNI std::size_t list_nonzero_words_avx512(const void* bytes, std::size_t row_bytes,
                                                        std::size_t rows, std::size_t begin,
                                                        std::size_t end, std::uint32_t* out) {
  const auto* first = static_cast<const std::uint8_t*>(bytes);
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  std::size_t count = 0, w = begin;
  for (; w + 16 <= end; w += 16) {
    __m512i any = _mm512_loadu_si512(first + 4 * w);
    for (std::size_t r = 1; r < rows; ++r)
      any = _mm512_or_si512(any, _mm512_loadu_si512(first + r * row_bytes + 4 * w));
    const __mmask16 nonzero = _mm512_test_epi32_mask(any, any);
    const __m512i index = _mm512_add_epi32(_mm512_set1_epi32(static_cast<std::int32_t>(w)), lanes);
    _mm512_storeu_si512(out + count, _mm512_maskz_compress_epi32(nonzero, index));
    count += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(nonzero)));
  }
  return count + list_nonzero_words(bytes, row_bytes, rows, w, end, out + count);
}

namespace {

// GCC 12's unmasked forms of min, max and the conversions fill an
// "undefined" source that -Wmaybe-uninitialized flags; the masked forms with
// an all-ones mask and a real source are the same instructions.
constexpr __mmask16 all16 = 0xFFFF;

// Tails use masked loads (zeros, which cannot move lo <= 0 <= hi) and
// masked stores.
// Whole steps of 16 load and store unmasked; only the tail of a row is
// masked. (A masked byte store is a slow instruction on Zen cores.)
TINYQ_AVX512_VNNI void range_avx512(const float* x, std::size_t n, float& lo, float& hi) {
  __m512 low = _mm512_setzero_ps(), high = _mm512_setzero_ps();
  const auto step = [&](__m512 v) TINYQ_AVX512_VNNI {
    low = _mm512_mask_min_ps(low, all16, v, low);  // v < low ? v : low, like the generic loop
    high = _mm512_mask_max_ps(high, all16, v, high);
  };
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) step(_mm512_loadu_ps(x + i));
  if (i < n) step(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - i)) - 1u), x + i));
  // The lanes start at +0 and take only values strictly below (above), so
  // they hold no NaN and no -0: any order of reduction gives the generic
  // loop's lo and hi. (Folding the 16 lanes into lo and hi through their
  // references, as before, stored and reloaded them at every lane, a chain
  // through memory that took 13% of a dynamic int8 pass over the test set.)
  // Halves, quarters, pairs, then neighbours: every lane ends holding the
  // extreme of all 16.
  low = _mm512_maskz_min_ps(all16, low, _mm512_maskz_shuffle_f32x4(all16, low, low, 0x4E));
  high = _mm512_maskz_max_ps(all16, high, _mm512_maskz_shuffle_f32x4(all16, high, high, 0x4E));
  low = _mm512_maskz_min_ps(all16, low, _mm512_maskz_shuffle_f32x4(all16, low, low, 0xB1));
  high = _mm512_maskz_max_ps(all16, high, _mm512_maskz_shuffle_f32x4(all16, high, high, 0xB1));
  low = _mm512_maskz_min_ps(all16, low, _mm512_maskz_permute_ps(all16, low, 0x4E));
  high = _mm512_maskz_max_ps(all16, high, _mm512_maskz_permute_ps(all16, high, 0x4E));
  low = _mm512_maskz_min_ps(all16, low, _mm512_maskz_permute_ps(all16, low, 0xB1));
  high = _mm512_maskz_max_ps(all16, high, _mm512_maskz_permute_ps(all16, high, 0xB1));
  lo = _mm512_cvtss_f32(low);
  hi = _mm512_cvtss_f32(high);
}

TINYQ_AVX512_VNNI std::uint32_t to_u8_avx512(const float* x, std::size_t n, float scale,
                                             float shift, float max_code, std::uint8_t* out) {
  const __m512 scales = _mm512_set1_ps(scale), shifts = _mm512_set1_ps(shift);
  const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(max_code);
  const __m512 half = _mm512_set1_ps(0.5f);
  __m512i sums = _mm512_setzero_si512();
  const auto codes_of = [&](__m512 loaded) TINYQ_AVX512_VNNI {
    __m512 v = _mm512_add_ps(_mm512_mul_ps(loaded, scales), shifts);
    v = _mm512_mask_max_ps(v, all16, v, zero);
    v = _mm512_mask_min_ps(v, all16, v, top);
    return _mm512_maskz_cvttps_epi32(all16, _mm512_add_ps(v, half));
  };
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i codes = codes_of(_mm512_loadu_ps(x + i));
    sums = _mm512_add_epi32(sums, codes);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm512_mask_cvtusepi32_epi8(_mm_setzero_si128(), all16, codes));
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512i codes =
        _mm512_maskz_mov_epi32(mask, codes_of(_mm512_maskz_loadu_ps(mask, x + i)));
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
  // Whole blocks of 16 rows go to AMX where the CPU has it (int8_gemm_amx.cpp).
  const Int8Tiles tiles{vnni_rows,          vnni_panels,
                        kernel_avx512,      listed_vnni,
                        row_lists_vnni,     list_nonzero_words_avx512,
                        vnni_row_list_cost, true};
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
