// The AVX-512 low-bit kernel: the AVX2 kernel's sums, 16 outputs (two
// panels) to a zmm register instead of 8 to a ymm.
//
// Per input p and pair of panels: the pair's two words lie side by side
// (widen_gemm_lowbit.hpp), so one 64-bit broadcast puts panel 2Q's word in
// the even lanes and panel 2Q+1's in the odd ones; each lane is shifted
// right to its own field (vpsrlvd: lanes 2t and 2t+1 by field·t), and one
// vpermps looks the code up in a 16-entry table of floats c = i - shift
// indexed by the low 4 bits of the lane. That is three operations for 16
// weights where the AVX2 kernel spends four (shift, mask, subtract,
// convert) for 8 at 4 bits, since its vpermps has only 8 entries. At 2 and
// 3 bits the table holds each code several times: entry i is the code of
// i's low 2 (or 3) bits, the bits above belonging to the next field. The
// sums so come out with the two panels' outputs interleaved (lane 2t is
// output t of panel 2Q, lane 2t+1 output t of 2Q+1); a vpermps per group
// and register puts them back in panel order before the rescaling.
//
// One core of an Intel Xeon, 784 × 256 weights in groups of 64, against the
// AVX2 kernel this path ran before: one row 7.6 µs against 11.3 at 4 bits,
// 6.7 against 7.3 at 2, 7.6 against 7.4-7.5 at 3 (AVX2 already looks 3-bit
// codes up in one instruction per 8); 1000 rows at 4 bits 3.1 ms against 4.7
// (the wide tiles below). The paired words (one 64-bit broadcast where a
// 32-bit one and a masked 32-bit one loaded the two panels) and 16 panels
// to a one-row tile (eight sums in flight, where four waited on the FMA
// latency), on one core of the Zen 5 machine, one row of 784 × 256 at 4
// bits, the inner loops timed alone: 4.5 -> 2.9 µs (8-bit codes, widened
// by vpmovsxbd: 3.5).
//
// Same bits as the AVX2 kernel: each output is the same chain of fused
// multiply-adds over p in order, and each group ends with the same two
// products and two additions, each rounded (tests/test_lowbit_gemm.cpp
// compares the paths).
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/kernels/widen_gemm_lowbit.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

// The rescaling's products and sums round one by one (see the AVX2 kernel):
// g++ would fuse _mm512_mul_ps and _mm512_add_ps into one FMA; clang keeps
// them apart. The kernels' own fused multiply-adds are written as such.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define TINYQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t lanes = lowbit_panel_columns;  // outputs per panel
constexpr std::size_t pair_lanes = 2 * lanes;        // outputs per zmm
// In-register tiles: up to 6 rows × 4 panels, or one row × 16 panels (more
// sums in flight for batch-1 latency).
constexpr std::size_t max_rows = 6;
constexpr std::size_t max_panels = 4;
constexpr std::size_t max_panels_one_row = 16;
// Wide tiles (codes widened beforehand): 12 rows × 4 panels, 24 sums, 2
// weight registers and the broadcast, as the float kernel's 12 × 32 tile.
constexpr std::size_t wide_rows = 12;
constexpr __mmask16 low_half = 0x00FF, high_half = 0xFF00;
// GCC 12's unmasked forms fill an "undefined" source that
// -Wmaybe-uninitialized flags; the forms masked with all16 are the same
// instructions.
constexpr __mmask16 all16 = 0xFFFF;

template <std::size_t Panels>
constexpr std::size_t pairs_of = (Panels + 1) / 2;

// A group's 8 steps (or offsets) of a panel and the next panel's, `stride`
// floats on, side by side in one register (lanes 8..15 load from
// first + stride - 8, so lane 8 gets first[stride]); the high half is 0 for
// a pair cut short.
TINYQ_AVX512 inline __m512 load_pair(const float* first, std::size_t stride, bool whole) {
  const __m512 low = _mm512_maskz_loadu_ps(low_half, first);
  return whole ? _mm512_mask_loadu_ps(low, high_half, first + stride - lanes) : low;
}

// The unpacking of codes, F: field bits (4 or 2); B: code bits (2, 3 or 4).
template <int F, int B>
struct PairUnpacker {
  // Lane i's shift: field · (i / 2) for the pair layout, field · (i mod 8)
  // for two panels in panel order (widen_panels); + 16 for the odd p of 2 bits.
  __m512i shifts, odd_shifts, panel_order_shifts, panel_order_odd_shifts;
  __m512 code_table;

  TINYQ_AVX512 explicit PairUnpacker(std::int32_t shift) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i field = _mm512_set1_epi32(F), sixteen = _mm512_set1_epi32(16);
    shifts = _mm512_mullo_epi32(_mm512_srli_epi32(lane, 1), field);
    odd_shifts = _mm512_add_epi32(shifts, sixteen);
    panel_order_shifts = _mm512_mullo_epi32(_mm512_and_si512(lane, _mm512_set1_epi32(7)), field);
    panel_order_odd_shifts = _mm512_add_epi32(panel_order_shifts, sixteen);
    const int code_mask = (1 << B) - 1;
    code_table = _mm512_maskz_cvtepi32_ps(
        all16, _mm512_sub_epi32(_mm512_and_si512(lane, _mm512_set1_epi32(code_mask)),
                                _mm512_set1_epi32(shift)));
  }

  // The codes of one input for a pair of panels, interleaved: `pair` points
  // to the even panel's word, its partner's follows.
  TINYQ_AVX512 __m512 unpack_pair(const std::uint32_t* pair, __m512i field_shifts) const {
    std::uint64_t both;
    std::memcpy(&both, pair, sizeof both);
    const __m512i words = _mm512_set1_epi64(static_cast<long long>(both));
    return _mm512_maskz_permutexvar_ps(all16, _mm512_maskz_srlv_epi32(all16, words, field_shifts),
                                       code_table);
  }

  // The same for any two panels, in panel order: `low`'s word in lanes 0-7,
  // `high`'s in lanes 8-15 (nullptr: the low ones again, never stored).
  TINYQ_AVX512 __m512 unpack_panels(const std::uint32_t* low, const std::uint32_t* high,
                                    __m512i field_shifts) const {
    __m512i words = _mm512_set1_epi32(static_cast<int>(*low));
    if (high) words = _mm512_mask_set1_epi32(words, high_half, static_cast<int>(*high));
    return _mm512_maskz_permutexvar_ps(all16, _mm512_maskz_srlv_epi32(all16, words, field_shifts),
                                       code_table);
  }
};

// Interleaved sums (lane 2t: output t of the even panel, 2t + 1: of the odd
// one) in panel order.
TINYQ_AVX512 inline __m512 to_panel_order(__m512 interleaved) {
  const __m512i from = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  return _mm512_maskz_permutexvar_ps(all16, from, interleaved);
}

// The end of group g: total += step · sums + offset · Σx, as two products
// and two additions, each rounded, in lowbit_rescale_group's order.
// Interleaved: acc holds the pair layout's lane order (unpack_pair).
template <std::size_t R, std::size_t Panels, bool Interleaved>
TINYQ_AVX512 inline __attribute__((always_inline)) void end_group(
    const __m512 (&acc)[R][pairs_of<Panels>], const LowBitPanels& b, std::size_t panel,
    std::size_t g, const float* xsums, float (&total)[R][pairs_of<Panels> * pair_lanes]) {
  constexpr std::size_t Q = pairs_of<Panels>;
  const std::size_t panel_stride = b.groups * lanes;
  const std::size_t at = (panel * b.groups + g) * lanes;
  for (std::size_t q = 0; q < Q; ++q) {
    const bool whole = 2 * q + 1 < Panels;
    const __m512 step = load_pair(b.steps.data() + at + 2 * q * panel_stride, panel_stride, whole);
    const __m512 offset =
        load_pair(b.offsets.data() + at + 2 * q * panel_stride, panel_stride, whole);
    for (std::size_t r = 0; r < R; ++r) {
      const __m512 xsum = _mm512_set1_ps(b.has_offsets ? xsums[r * b.groups + g] : 0.0f);
      const __m512 sums = Interleaved ? to_panel_order(acc[r][q]) : acc[r][q];
      const __m512 scaled = _mm512_add_ps(_mm512_mul_ps(step, sums), _mm512_mul_ps(offset, xsum));
      float* out = total[r] + q * pair_lanes;
      _mm512_store_ps(out, _mm512_add_ps(_mm512_load_ps(out), scaled));
    }
  }
}

// Columns [skip, skip + cols) of the totals to C.
template <std::size_t R, std::size_t Q>
void store_totals(const float (&total)[R][Q * pair_lanes], float* c, std::size_t ldc,
                  std::size_t skip, std::size_t cols) {
  for (std::size_t r = 0; r < R; ++r)
    std::copy(total[r] + skip, total[r] + skip + cols, c + r * ldc);
}

// R rows × Panels panels from an even `panel` on, the codes unpacked in
// registers; C gets `cols` outputs from output `skip` of the tile on.
template <std::size_t R, std::size_t Panels, int F, int B>
TINYQ_AVX512 void tile(const float* x, std::size_t ldx, const float* xsums, const LowBitPanels& b,
                       std::size_t panel, const float* bias, float* c, std::size_t ldc,
                       std::size_t skip, std::size_t cols) {
  constexpr std::size_t Q = pairs_of<Panels>;
  const PairUnpacker<F, B> codes(b.code_shift);
  const std::uint32_t* words = b.panel_words(panel);
  const std::size_t pair_stride = 2 * b.words_per_panel();
  alignas(64) float total[R][Q * pair_lanes];
  lowbit_start_totals(b, panel, bias, R, Q * pair_lanes, total[0]);
  auto widen = [&](std::size_t q, std::size_t word, __m512i field_shifts) TINYQ_AVX512 {
    return codes.unpack_pair(words + q * pair_stride + lowbit_word_stride * word, field_shifts);
  };
  auto step = [&](__m512(&acc)[R][Q], std::size_t p, const __m512(&w)[Q]) TINYQ_AVX512 {
    for (std::size_t r = 0; r < R; ++r) {
      const __m512 xr = _mm512_set1_ps(x[r * ldx + p]);
      for (std::size_t q = 0; q < Q; ++q) acc[r][q] = _mm512_fmadd_ps(xr, w[q], acc[r][q]);
    }
  };
  for (std::size_t g = 0; g < b.groups; ++g) {
    const std::size_t begin = g * b.group, end = std::min(b.k, begin + b.group);
    __m512 acc[R][Q];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t q = 0; q < Q; ++q) acc[r][q] = _mm512_setzero_ps();
    if constexpr (F == 4) {
      for (std::size_t p = begin; p < end; ++p) {
        __m512 w[Q];
        for (std::size_t q = 0; q < Q; ++q) w[q] = widen(q, p, codes.shifts);
        step(acc, p, w);
      }
    } else {  // begin is even: groups that split a row are even (see the header)
      for (std::size_t p = begin; p < end; p += 2) {
        __m512 w[Q];
        for (std::size_t q = 0; q < Q; ++q) w[q] = widen(q, p / 2, codes.shifts);
        step(acc, p, w);
        if (p + 1 == end) break;
        for (std::size_t q = 0; q < Q; ++q) w[q] = widen(q, p / 2, codes.odd_shifts);
        step(acc, p + 1, w);
      }
    }
    end_group<R, Panels, true>(acc, b, panel, g, xsums, total);
  }
  store_totals<R, Q>(total, c, ldc, skip, cols);
}

using TileFunction = void (*)(const float*, std::size_t, const float*, const LowBitPanels&,
                              std::size_t, const float*, float*, std::size_t, std::size_t,
                              std::size_t);

// More than max_panels panels only for one row (the rest are never called,
// and not compiled).
template <int F, int B, std::size_t R, std::size_t P>
constexpr TileFunction tile_for() {
  if constexpr (R == 1 || P <= max_panels)
    return tile<R, P, F, B>;
  else
    return nullptr;
}
template <int F, int B, std::size_t R, std::size_t... P>
constexpr std::array<TileFunction, max_panels_one_row> panels_for(std::index_sequence<P...>) {
  return {tile_for<F, B, R, P + 1>()...};
}
template <int F, int B, std::size_t... R>
constexpr std::array<std::array<TileFunction, max_panels_one_row>, max_rows> tiles_for(
    std::index_sequence<R...>) {
  return {panels_for<F, B, R + 1>(std::make_index_sequence<max_panels_one_row>{})...};
}
const auto four_bit_tiles = tiles_for<4, 4>(std::make_index_sequence<max_rows>{});
const auto three_bit_tiles = tiles_for<4, 3>(std::make_index_sequence<max_rows>{});
const auto two_bit_tiles = tiles_for<2, 2>(std::make_index_sequence<max_rows>{});

// Tiles start at even panels, where a pair of words does. An odd first
// panel is computed as the second of a tile of its pair (the even panel's
// outputs are computed too, and dropped): the same sums either way.
void kernel_avx512(std::size_t rows, const float* x, std::size_t ldx, const float* xsums,
                   const LowBitPanels& b, std::size_t panel, std::size_t panels, const float* bias,
                   float* c, std::size_t ldc) {
  const auto& tiles = b.bits == 4 ? four_bit_tiles : b.bits == 3 ? three_bit_tiles : two_bit_tiles;
  if (panel % 2 == 1) {
    const std::size_t cols = std::min(lanes, b.n - panel * lanes);
    tiles[rows - 1][1](x, ldx, xsums, b, panel - 1, bias, c, ldc, lanes, cols);
    if (--panels == 0) return;
    ++panel;
    c += lanes;
  }
  const std::size_t cols = std::min(panels * lanes, b.n - panel * lanes);
  tiles[rows - 1][panels - 1](x, ldx, xsums, b, panel, bias, c, ldc, 0, cols);
}

// The wide tile: tile's loop with the weights loaded from codes widened
// beforehand (widen_panels below): the same fused multiply-adds in the same
// order. x is read in place, as `tile` reads it: packing the rows side by
// side first (what the AVX2 path does) took 8% of the time at 1000 rows,
// and 12 rows in place stream as well (one core, 4 bits, 1000 × 784 × 256:
// 3.1-3.2 ms against 3.4-3.6).
template <std::size_t R, std::size_t Panels>
TINYQ_AVX512 void wide_tile(const float* x, std::size_t ldx, const float* xsums, const float* wide,
                            std::size_t wide_stride, const LowBitPanels& b, std::size_t panel,
                            const float* bias, float* c, std::size_t ldc, std::size_t cols) {
  constexpr std::size_t Q = pairs_of<Panels>;
  alignas(64) float total[R][Q * pair_lanes];
  lowbit_start_totals(b, panel, bias, R, Q * pair_lanes, total[0]);
  for (std::size_t g = 0; g < b.groups; ++g) {
    const std::size_t begin = g * b.group, end = std::min(b.k, begin + b.group);
    __m512 acc[R][Q];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t q = 0; q < Q; ++q) acc[r][q] = _mm512_setzero_ps();
    for (std::size_t p = begin; p < end; ++p) {
      __m512 w[Q];
      for (std::size_t q = 0; q < Q; ++q)
        w[q] = _mm512_loadu_ps(wide + 2 * q * wide_stride + p * pair_lanes);
      for (std::size_t r = 0; r < R; ++r) {
        const __m512 xr = _mm512_set1_ps(x[r * ldx + p]);
        for (std::size_t q = 0; q < Q; ++q) acc[r][q] = _mm512_fmadd_ps(xr, w[q], acc[r][q]);
      }
    }
    end_group<R, Panels, false>(acc, b, panel, g, xsums, total);
  }
  store_totals<R, Q>(total, c, ldc, 0, cols);
}

using WideTileFunction = void (*)(const float*, std::size_t, const float*, const float*,
                                  std::size_t, const LowBitPanels&, std::size_t, const float*,
                                  float*, std::size_t, std::size_t);

template <std::size_t R, std::size_t... P>
constexpr std::array<WideTileFunction, max_panels> wide_panels_for(std::index_sequence<P...>) {
  return {wide_tile<R, P + 1>...};
}
template <std::size_t... R>
constexpr std::array<std::array<WideTileFunction, max_panels>, wide_rows> wide_tiles_for(
    std::index_sequence<R...>) {
  return {wide_panels_for<R + 1>(std::make_index_sequence<max_panels>{})...};
}
const auto wide_tiles = wide_tiles_for(std::make_index_sequence<wide_rows>{});

// Panels [panel, panel + panels) of b unpacked to float for the wide tiles,
// two panels side by side: the code of input p for output t of panels
// 2q and 2q + 1 at wide[2q · wide_stride + p · 16 + t] (the space of the
// two panels; a last panel without a partner gets zeros beside it).
template <int F, int B>
TINYQ_AVX512 void widen_panels(const LowBitPanels& b, std::size_t panel, std::size_t panels,
                               float* wide, std::size_t wide_stride) {
  const PairUnpacker<F, B> codes(b.code_shift);
  for (std::size_t q = 0; 2 * q < panels; ++q) {
    const bool whole = 2 * q + 1 < panels;
    const std::uint32_t* low = b.panel_words(panel + 2 * q);
    const std::uint32_t* high = whole ? b.panel_words(panel + 2 * q + 1) : nullptr;
    float* out = wide + 2 * q * wide_stride;
    for (std::size_t p = 0; p < b.k; ++p) {
      const std::size_t word = lowbit_word_stride * (F == 4 ? p : p / 2);
      const __m512i field_shifts =
          F == 4 || p % 2 == 0 ? codes.panel_order_shifts : codes.panel_order_odd_shifts;
      const __m512 pair =
          codes.unpack_panels(low + word, high ? high + word : nullptr, field_shifts);
      _mm512_storeu_ps(out + p * pair_lanes, whole ? pair : _mm512_maskz_mov_ps(low_half, pair));
    }
  }
}

void widen_panels_avx512(const LowBitPanels& b, std::size_t panel, std::size_t panels, float* wide,
                         std::size_t wide_stride) {
  if (b.bits == 4)
    widen_panels<4, 4>(b, panel, panels, wide, wide_stride);
  else if (b.bits == 3)
    widen_panels<4, 3>(b, panel, panels, wide, wide_stride);
  else
    widen_panels<2, 2>(b, panel, panels, wide, wide_stride);
}

void kernel_avx512_wide(std::size_t rows, const float* x, std::size_t ldx, const float* xsums,
                        const float* wide, std::size_t wide_stride, const LowBitPanels& b,
                        std::size_t panel, std::size_t panels, const float* bias, float* c,
                        std::size_t ldc) {
  const std::size_t cols = std::min(panels * lanes, b.n - panel * lanes);
  wide_tiles[rows - 1][panels - 1](x, ldx, xsums, wide, wide_stride, b, panel, bias, c, ldc, cols);
}

}  // namespace

LowBitKernel lowbit_kernel_avx512() {
  return {max_rows,           max_panels_one_row,  max_panels, kernel_avx512,
          kernel_avx512_wide, widen_panels_avx512, wide_rows,  false};
}

}  // namespace tinyq

#else

namespace tinyq {
LowBitKernel lowbit_kernel_avx512() {
  return lowbit_kernel_generic();
}
}  // namespace tinyq

#endif
