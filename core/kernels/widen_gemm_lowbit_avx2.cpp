// The AVX2 low-bit kernel: up to 4 rows × 2 panels (1 row × 4 panels for
// batch-1 latency), each panel one ymm of 8 float sums per row.
//
// Per input p and panel: the panel's word is broadcast to 8 lanes
// (vpbroadcastd from memory), each lane shifted right to its own field
// (vpsrlvd by 0, 4, …, 28 or 0, 2, …, 14), masked, shifted to the signed
// code and converted (vcvtdq2ps): four operations for 8 weights, shared by
// all rows of the tile. A
// group's sums live in registers; at its end they are scaled into the
// running totals, kept in a small array (once per group, not per input), 8
// lanes at a time but rounded as lowbit_rescale_group and the 8-bit path
// round.
#include <algorithm>
#include <array>
#include <utility>

#include "core/kernels/widen_gemm_lowbit.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

// rescale_group's products and sums must round one by one, as
// lowbit_rescale_group's do: g++ would fuse _mm256_mul_ps and _mm256_add_ps
// into one FMA (single rounding) wherever FMA is enabled; clang keeps them
// apart. The kernels' own fused multiply-adds are written as such.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t max_rows = 6;
constexpr std::size_t max_panels = 4;
constexpr std::size_t lanes = lowbit_panel_columns;
constexpr float zero = 0.0f;

// lowbit_rescale_group 8 lanes at a time: total += step · sums + offset ·
// xsum as two products and two additions, each rounded (no FMA: see the
// pragma above), in the order the plain loop rounds them, so the bits are
// the same. Measured on the whole Fashion-MNIST test set with 4-bit weights
// in groups of 64, the plain loop took 16% of the time.
__attribute__((target("avx2"))) void rescale_group(std::size_t rows, std::size_t width,
                                                   const float* sums, const float* steps,
                                                   const float* offsets, std::size_t panel_stride,
                                                   const float* xsums, std::size_t xsum_stride,
                                                   float* total) {
  for (std::size_t r = 0; r < rows; ++r) {
    const __m256 xsum = _mm256_set1_ps(xsums[r * xsum_stride]);
    for (std::size_t q = 0; q < width / lanes; ++q) {
      const __m256 step = _mm256_loadu_ps(steps + q * panel_stride);
      const __m256 offset = _mm256_loadu_ps(offsets + q * panel_stride);
      const __m256 sum = _mm256_loadu_ps(sums + r * width + q * lanes);
      float* out = total + r * width + q * lanes;
      const __m256 scaled = _mm256_add_ps(_mm256_mul_ps(step, sum), _mm256_mul_ps(offset, xsum));
      _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), scaled));
    }
  }
}

// The end of group g: its sums scaled into the totals (rescale_group).
// Inlined: called, it would keep the tile's sums in memory through the loop.
template <std::size_t R, std::size_t P>
TINYQ_AVX2 inline __attribute__((always_inline)) void end_group(const __m256 (&acc)[R][P],
                                                                const LowBitPanels& b,
                                                                std::size_t panel, std::size_t g,
                                                                const float* xsums,
                                                                float (&total)[R][P * lanes]) {
  alignas(32) float sums[R][P * lanes];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t q = 0; q < P; ++q) _mm256_store_ps(sums[r] + q * lanes, acc[r][q]);
  const std::size_t at = (panel * b.groups + g) * lanes;
  rescale_group(R, P * lanes, sums[0], b.steps.data() + at, b.offsets.data() + at, b.groups * lanes,
                b.has_offsets ? xsums + g : &zero, b.has_offsets ? b.groups : 0, total[0]);
}

// The unpacking of codes (see the header), F: field bits (4 or 2); B: code
// bits (2, 3 or 4). unpack(word, shifts) gives the 8 lanes' codes of the
// word's (even) input, unpack(word, odd_shifts) those of the odd input of a
// 2-bit word.
template <int F, int B>
struct CodeUnpacker {
  __m256i shifts, odd_shifts, mask, code_shift;
  __m256 code_table;

  TINYQ_AVX2 explicit CodeUnpacker(std::int32_t shift) {
    shifts = F == 4 ? _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)
                    : _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    odd_shifts = _mm256_add_epi32(shifts, _mm256_set1_epi32(16));
    mask = _mm256_set1_epi32(F == 4 ? 15 : 3);
    code_shift = _mm256_set1_epi32(shift);
    // Codes of at most 3 bits: vpermps looks up the 8 floats c = i - shift
    // by the low 3 bits of each lane and ignores the rest, so it masks,
    // shifts and converts in one operation. At 2 bits the third index bit is
    // the next field's, so entries i and i + 4 hold the same code.
    code_table = _mm256_cvtepi32_ps(
        _mm256_sub_epi32(_mm256_and_si256(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(B == 2 ? 3 : 7)),
                         code_shift));
  }

  TINYQ_AVX2 __m256 unpack(std::uint32_t word, __m256i field_shifts) const {
    const __m256i all = _mm256_set1_epi32(static_cast<int>(word));
    if constexpr (B <= 3)
      return _mm256_permutevar8x32_ps(code_table, _mm256_srlv_epi32(all, field_shifts));
    const __m256i u = _mm256_and_si256(_mm256_srlv_epi32(all, field_shifts), mask);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(u, code_shift));
  }
};

template <std::size_t R, std::size_t P, int F, int B>
TINYQ_AVX2 void tile(const float* x, std::size_t ldx, const float* xsums, const LowBitPanels& b,
                     std::size_t panel, const float* bias, float* c, std::size_t ldc,
                     std::size_t cols) {
  const CodeUnpacker<F, B> codes(b.code_shift);
  const __m256i shifts = codes.shifts, odd_shifts = codes.odd_shifts;
  const std::uint32_t* words[P];
  for (std::size_t q = 0; q < P; ++q) words[q] = b.panel_words(panel + q);
  alignas(32) float total[R][P * lanes];
  lowbit_start_totals(b, panel, bias, R, P * lanes, total[0]);
  auto widen = [&](std::size_t q, std::size_t word, __m256i field_shifts) TINYQ_AVX2 {
    return codes.unpack(words[q][lowbit_word_stride * word], field_shifts);
  };
  auto step = [&](__m256(&acc)[R][P], std::size_t p, const __m256(&w)[P]) TINYQ_AVX2 {
    for (std::size_t r = 0; r < R; ++r) {
      const __m256 xr = _mm256_broadcast_ss(x + r * ldx + p);
      for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm256_fmadd_ps(xr, w[q], acc[r][q]);
    }
  };
  for (std::size_t g = 0; g < b.groups; ++g) {
    const std::size_t begin = g * b.group, end = std::min(b.k, begin + b.group);
    __m256 acc[R][P];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm256_setzero_ps();
    if constexpr (F == 4) {
      for (std::size_t p = begin; p < end; ++p) {
        __m256 w[P];
        for (std::size_t q = 0; q < P; ++q) w[q] = widen(q, p, shifts);
        step(acc, p, w);
      }
    } else {  // begin is even: groups that split a row are even (see the header)
      for (std::size_t p = begin; p < end; p += 2) {
        __m256 w[P];
        for (std::size_t q = 0; q < P; ++q) w[q] = widen(q, p / 2, shifts);
        step(acc, p, w);
        if (p + 1 == end) break;
        for (std::size_t q = 0; q < P; ++q) w[q] = widen(q, p / 2, odd_shifts);
        step(acc, p + 1, w);
      }
    }
    end_group<R, P>(acc, b, panel, g, xsums, total);
  }
  for (std::size_t r = 0; r < R; ++r)
    std::copy(total[r], total[r] + std::min(cols, P * lanes), c + r * ldc);
}

using TileFunction = void (*)(const float*, std::size_t, const float*, const LowBitPanels&,
                              std::size_t, const float*, float*, std::size_t, std::size_t);

template <int F, int B, std::size_t R, std::size_t... P>
constexpr std::array<TileFunction, max_panels> panels_for(std::index_sequence<P...>) {
  return {tile<R, P + 1, F, B>...};
}
template <int F, int B, std::size_t... R>
constexpr std::array<std::array<TileFunction, max_panels>, max_rows> tiles_for(
    std::index_sequence<R...>) {
  return {panels_for<F, B, R + 1>(std::make_index_sequence<max_panels>{})...};
}
const auto four_bit_tiles = tiles_for<4, 4>(std::make_index_sequence<max_rows>{});
const auto three_bit_tiles = tiles_for<4, 3>(std::make_index_sequence<max_rows>{});
const auto two_bit_tiles = tiles_for<2, 2>(std::make_index_sequence<max_rows>{});

void kernel_avx2(std::size_t rows, const float* x, std::size_t ldx, const float* xsums,
                 const LowBitPanels& b, std::size_t panel, std::size_t panels, const float* bias,
                 float* c, std::size_t ldc) {
  const std::size_t cols = std::min(panels * lanes, b.n - panel * lanes);
  const auto& tiles = b.bits == 4 ? four_bit_tiles : b.bits == 3 ? three_bit_tiles : two_bit_tiles;
  tiles[rows - 1][panels - 1](x, ldx, xsums, b, panel, bias, c, ldc, cols);
}

// lowbit_gemm's run_wide on AVX2: tile's loop with the weights loaded from
// codes widened beforehand and x from its packed tile: the same fused
// multiply-adds in the same order, the same rescaling per group. 6 rows × 2
// panels: 12 sums, 2 weight registers and the broadcast.
constexpr std::size_t wide_panels = 2;

template <std::size_t R, std::size_t P>
TINYQ_AVX2 void wide_tile(const float* x, std::size_t, const float* xsums, const float* wide,
                          std::size_t wide_stride, const LowBitPanels& b, std::size_t panel,
                          const float* bias, float* c, std::size_t ldc, std::size_t cols) {
  alignas(32) float total[R][P * lanes];
  lowbit_start_totals(b, panel, bias, R, P * lanes, total[0]);
  for (std::size_t g = 0; g < b.groups; ++g) {
    const std::size_t begin = g * b.group, end = std::min(b.k, begin + b.group);
    __m256 acc[R][P];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm256_setzero_ps();
    for (std::size_t p = begin; p < end; ++p) {
      __m256 w[P];
      for (std::size_t q = 0; q < P; ++q)
        w[q] = _mm256_loadu_ps(wide + q * wide_stride + p * lanes);
      for (std::size_t r = 0; r < R; ++r) {
        const __m256 xr = _mm256_broadcast_ss(x + p * max_rows + r);
        for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm256_fmadd_ps(xr, w[q], acc[r][q]);
      }
    }
    end_group<R, P>(acc, b, panel, g, xsums, total);
  }
  for (std::size_t r = 0; r < R; ++r)
    std::copy(total[r], total[r] + std::min(cols, P * lanes), c + r * ldc);
}

using WideTileFunction = void (*)(const float*, std::size_t, const float*, const float*,
                                  std::size_t, const LowBitPanels&, std::size_t, const float*,
                                  float*, std::size_t, std::size_t);

template <std::size_t R, std::size_t... P>
constexpr std::array<WideTileFunction, wide_panels> wide_panels_for(std::index_sequence<P...>) {
  return {wide_tile<R, P + 1>...};
}
template <std::size_t... R>
constexpr std::array<std::array<WideTileFunction, wide_panels>, max_rows> wide_tiles_for(
    std::index_sequence<R...>) {
  return {wide_panels_for<R + 1>(std::make_index_sequence<wide_panels>{})...};
}
const auto wide_tiles = wide_tiles_for(std::make_index_sequence<max_rows>{});

// Panels [panel, panel + panels) of b unpacked to float for the wide tiles:
// panel q's code of input p, lane t at wide[q · wide_stride + p · 8 + t].
template <int F, int B>
TINYQ_AVX2 void widen_panels(const LowBitPanels& b, std::size_t panel, std::size_t panels,
                             float* wide, std::size_t wide_stride) {
  const CodeUnpacker<F, B> codes(b.code_shift);
  for (std::size_t q = 0; q < panels; ++q) {
    const std::uint32_t* words = b.panel_words(panel + q);
    float* out = wide + q * wide_stride;
    for (std::size_t p = 0; p < b.k; ++p) {
      const std::uint32_t word = words[lowbit_word_stride * (F == 4 ? p : p / 2)];
      const __m256i field_shifts = F == 4 || p % 2 == 0 ? codes.shifts : codes.odd_shifts;
      _mm256_storeu_ps(out + p * lanes, codes.unpack(word, field_shifts));
    }
  }
}

void widen_panels_avx2(const LowBitPanels& b, std::size_t panel, std::size_t panels, float* wide,
                       std::size_t wide_stride) {
  if (b.bits == 4)
    widen_panels<4, 4>(b, panel, panels, wide, wide_stride);
  else if (b.bits == 3)
    widen_panels<4, 3>(b, panel, panels, wide, wide_stride);
  else
    widen_panels<2, 2>(b, panel, panels, wide, wide_stride);
}

void kernel_avx2_wide(std::size_t rows, const float* x, std::size_t ldx, const float* xsums,
                      const float* wide, std::size_t wide_stride, const LowBitPanels& b,
                      std::size_t panel, std::size_t panels, const float* bias, float* c,
                      std::size_t ldc) {
  const std::size_t cols = std::min(panels * lanes, b.n - panel * lanes);
  wide_tiles[rows - 1][panels - 1](x, ldx, xsums, wide, wide_stride, b, panel, bias, c, ldc, cols);
}

}  // namespace

LowBitKernel lowbit_kernel_avx2() {
  return {max_rows,         max_panels,        wide_panels, kernel_avx2,
          kernel_avx2_wide, widen_panels_avx2, max_rows};
}

}  // namespace tinyq

#else

namespace tinyq {
LowBitKernel lowbit_kernel_avx2() {
  return lowbit_kernel_generic();
}
}  // namespace tinyq

#endif
