// The AVX2 low-bit kernel: up to 4 rows × 2 panels (1 row × 4 panels for
// batch-1 latency), each panel one ymm of 8 float sums per row.
//
// Per input p and panel: the panel's word is broadcast to 8 lanes
// (vpbroadcastd from memory), each lane shifted right to its own field
// (vpsrlvd by 0, 4, …, 28 or 0, 2, …, 14), masked, shifted to the signed
// code and converted (vcvtdq2ps): four operations for 8 weights, shared by
// all rows of the tile. A
// group's sums live in registers; at its end they are scaled into the
// running totals, kept in a small array (once per group, not per input) by
// lowbit_rescale_group, which rounds as the 8-bit path does.
#include <algorithm>
#include <array>
#include <utility>

#include "core/kernels/widen_gemm_lowbit.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t max_rows = 6;
constexpr std::size_t max_panels = 4;
constexpr std::size_t lanes = lowbit_panel_columns;
constexpr float zero = 0.0f;

// F: field bits (4 or 2); B: code bits (2, 3 or 4).
template <std::size_t R, std::size_t P, int F, int B>
TINYQ_AVX2 void tile(const float* x, std::size_t ldx, const float* xsums, const LowBitPanels& b,
                     std::size_t panel, const float* bias, float* c, std::size_t ldc,
                     std::size_t cols) {
  const __m256i shifts = F == 4 ? _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)
                                : _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i odd_shifts = _mm256_add_epi32(shifts, _mm256_set1_epi32(16));
  const __m256i mask = _mm256_set1_epi32(F == 4 ? 15 : 3);
  const __m256i code_shift = _mm256_set1_epi32(b.code_shift);
  // Codes of at most 3 bits: vpermps looks up the 8 floats c = i - shift by
  // the low 3 bits of each lane and ignores the rest, so it masks, shifts
  // and converts in one operation. At 2 bits the third index bit is the
  // next field's, so entries i and i + 4 hold the same code.
  const __m256 code_table = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_and_si256(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                        _mm256_set1_epi32(B == 2 ? 3 : 7)),
                       code_shift));
  const std::size_t stride = b.words_per_panel();
  const std::uint32_t* words = b.words.data() + panel * stride;
  alignas(32) float total[R][P * lanes];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t i = 0; i < P * lanes; ++i) {
      const std::size_t j = panel * lanes + i;
      total[r][i] = j < b.n ? bias[j] : 0.0f;
    }
  auto widen = [&](std::size_t q, std::size_t word, __m256i field_shifts) TINYQ_AVX2 {
    const __m256i all = _mm256_set1_epi32(static_cast<int>(words[q * stride + word]));
    if constexpr (B <= 3)
      return _mm256_permutevar8x32_ps(code_table, _mm256_srlv_epi32(all, field_shifts));
    const __m256i u = _mm256_and_si256(_mm256_srlv_epi32(all, field_shifts), mask);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(u, code_shift));
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
    alignas(32) float sums[R][P * lanes];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t q = 0; q < P; ++q) _mm256_store_ps(sums[r] + q * lanes, acc[r][q]);
    const std::size_t at = (panel * b.groups + g) * lanes;
    lowbit_rescale_group(R, P * lanes, sums[0], b.steps.data() + at, b.offsets.data() + at,
                         b.groups * lanes, b.has_offsets ? xsums + g : &zero,
                         b.has_offsets ? b.groups : 0, total[0]);
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

}  // namespace

LowBitKernel lowbit_kernel_avx2() {
  return {max_rows, max_panels, 2, kernel_avx2};
}

}  // namespace tinyq

#else

namespace tinyq {
LowBitKernel lowbit_kernel_avx2() {
  return lowbit_kernel_generic();
}
}  // namespace tinyq

#endif
