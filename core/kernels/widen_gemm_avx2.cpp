// The AVX2 widening kernel: up to 6 rows × 1 panel (or 2 rows × 2 panels),
// each panel two ymm registers of 8 float sums per row. Weights are widened
// 8 bytes at a time (vpmovsxbd, vcvtdq2ps) and multiplied with FMA. With
// more than 6 rows widen_gemm widens each block of the panels to float once
// and runs wide_tile (below) over all the rows.
#include <algorithm>
#include <array>
#include <utility>

#include "core/kernels/widen_gemm.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t max_rows = 6;
constexpr std::size_t max_panels = 2;

template <std::size_t R, std::size_t P>
TINYQ_AVX2 void tile(const float* x, std::size_t ldx, const std::int8_t* b,
                     std::size_t panel_stride, std::size_t k_begin, std::size_t k_end, float* c,
                     std::size_t ldc, std::size_t cols) {
  constexpr std::size_t V = 2 * P;  // 8-float vectors per row
  __m256 acc[R][V];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  for (std::size_t p = k_begin; p < k_end; ++p) {
    __m256 w[V];
    for (std::size_t v = 0; v < V; ++v) {
      const std::int8_t* bytes = b + (v / 2) * panel_stride + p * widen_panel_columns + 8 * (v % 2);
      w[v] = _mm256_cvtepi32_ps(
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes))));
    }
    for (std::size_t r = 0; r < R; ++r) {
      const __m256 xr = _mm256_set1_ps(x[r * ldx + p]);
      for (std::size_t v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(xr, w[v], acc[r][v]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    alignas(32) float sums[V * 8];
    for (std::size_t v = 0; v < V; ++v) _mm256_store_ps(sums + 8 * v, acc[r][v]);
    std::copy(sums, sums + std::min(cols, V * 8), c + r * ldc);
  }
}

using TileFunction = void (*)(const float*, std::size_t, const std::int8_t*, std::size_t,
                              std::size_t, std::size_t, float*, std::size_t, std::size_t);

template <std::size_t P, std::size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile<R + 1, P>...};
}
const std::array<std::array<TileFunction, max_rows>, max_panels> tiles = {
    tiles_for<1>(std::make_index_sequence<max_rows>{}),
    tiles_for<2>(std::make_index_sequence<max_rows>{})};

void kernel_avx2(std::size_t rows, const float* x, std::size_t ldx, const std::int8_t* b,
                 std::size_t panel_stride, std::size_t panels, std::size_t k_begin,
                 std::size_t k_end, float* c, std::size_t ldc, std::size_t cols) {
  tiles[panels - 1][rows - 1](x, ldx, b, panel_stride, k_begin, k_end, c, ldc, cols);
}

// widen_gemm's run_wide on AVX2: panels already widened to float (one block
// of k) and x packed by widen_gemm, the tile's rows side by side
// (x[p * max_rows + r]). One panel at a time, 6 rows × 16 outputs: 12
// accumulators, 2 weight registers and the broadcast fit the 16 ymm
// registers, where tile<6, 2> above (24 accumulators) spills. accumulate:
// continue the sums already in C (a later block of k), which gives the same
// fused multiply-adds in the same order as tile's one unbroken loop, so the
// bits are the same on either route.
template <std::size_t R>
TINYQ_AVX2 void wide_tile(const float* x, const float* b, std::size_t length, float* c,
                          std::size_t ldc, std::size_t cols, bool accumulate) {
  __m256 acc[R][2];
  for (std::size_t r = 0; r < R; ++r) {
    alignas(32) float sums[widen_panel_columns] = {};
    if (accumulate) std::copy(c + r * ldc, c + r * ldc + cols, sums);
    acc[r][0] = _mm256_load_ps(sums);
    acc[r][1] = _mm256_load_ps(sums + 8);
  }
  for (std::size_t p = 0; p < length; ++p) {
    const __m256 w0 = _mm256_loadu_ps(b + p * widen_panel_columns);
    const __m256 w1 = _mm256_loadu_ps(b + p * widen_panel_columns + 8);
    for (std::size_t r = 0; r < R; ++r) {
      const __m256 xr = _mm256_set1_ps(x[p * max_rows + r]);
      acc[r][0] = _mm256_fmadd_ps(xr, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(xr, w1, acc[r][1]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    alignas(32) float sums[widen_panel_columns];
    _mm256_store_ps(sums, acc[r][0]);
    _mm256_store_ps(sums + 8, acc[r][1]);
    std::copy(sums, sums + cols, c + r * ldc);
  }
}

using WideTileFunction = void (*)(const float*, const float*, std::size_t, float*, std::size_t,
                                  std::size_t, bool);

template <std::size_t... R>
constexpr std::array<WideTileFunction, sizeof...(R)> wide_tiles_for(std::index_sequence<R...>) {
  return {wide_tile<R + 1>...};
}
const std::array<WideTileFunction, max_rows> wide_tiles =
    wide_tiles_for(std::make_index_sequence<max_rows>{});

void kernel_avx2_wide(std::size_t rows, const float* x, std::size_t, const float* b,
                      std::size_t panel_stride, std::size_t panels, std::size_t length, float* c,
                      std::size_t ldc, std::size_t cols, bool accumulate) {
  for (std::size_t q = 0; q < panels && q * widen_panel_columns < cols; ++q) {
    const std::size_t first = q * widen_panel_columns;
    wide_tiles[rows - 1](x, b + q * panel_stride, length, c + first, ldc,
                         std::min(widen_panel_columns, cols - first), accumulate);
  }
}

}  // namespace

WidenKernel widen_kernel_avx2() {
  return {max_rows, max_panels, kernel_avx2, kernel_avx2_wide, max_rows};
}

}  // namespace tinyq

#else

namespace tinyq {
WidenKernel widen_kernel_avx2() {
  return widen_kernel_generic();
}
}  // namespace tinyq

#endif
