// The AVX-512 widening kernel: up to 12 rows × 2 panels (or 4 rows × 4
// panels) of float sums in zmm registers, the weights widened on the fly.
//
// Per input p: for each panel, 16 weight bytes are sign-extended to 16
// int32 (vpmovsxbd) and converted to float (vcvtdq2ps); then for each row,
// x[r][p] is broadcast and one FMA per panel adds x · w into the row's
// accumulators. At 12 rows × 2 panels that is 4 widening instructions per
// 24 FMAs, so the kernel runs close to the float kernel's speed while
// reading a quarter of the weight bytes.
#include <algorithm>
#include <array>
#include <utility>

#include "core/widen_gemm.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace tinyq {

namespace {

constexpr std::size_t max_rows = 12;
constexpr std::size_t max_panels = 4;
// GCC 12's unmasked conversions fill an "undefined" source that
// -Wmaybe-uninitialized flags; the zero-masked forms are the same instructions.
constexpr __mmask16 all16 = 0xFFFF;

template <std::size_t R, std::size_t P>
TINYQ_AVX512 void tile(const float* x, std::size_t ldx, const std::int8_t* b,
                       std::size_t panel_stride, std::size_t k_begin, std::size_t k_end, float* c,
                       std::size_t ldc, std::size_t cols) {
  __m512 acc[R][P];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm512_setzero_ps();
  for (std::size_t p = k_begin; p < k_end; ++p) {
    __m512 w[P];
    for (std::size_t q = 0; q < P; ++q) {
      const __m128i bytes = _mm_loadu_si128(
          reinterpret_cast<const __m128i*>(b + q * panel_stride + p * widen_panel_columns));
      w[q] = _mm512_maskz_cvtepi32_ps(all16, _mm512_maskz_cvtepi8_epi32(all16, bytes));
    }
    for (std::size_t r = 0; r < R; ++r) {
      const __m512 xr = _mm512_set1_ps(x[r * ldx + p]);
      for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm512_fmadd_ps(xr, w[q], acc[r][q]);
    }
  }
  for (std::size_t q = 0; q < P; ++q) {
    const std::size_t first = q * widen_panel_columns;
    if (first >= cols) break;
    const std::size_t count = std::min(widen_panel_columns, cols - first);
    const auto mask = static_cast<__mmask16>((1u << count) - 1u);
    for (std::size_t r = 0; r < R; ++r) _mm512_mask_storeu_ps(c + r * ldc + first, mask, acc[r][q]);
  }
}

using TileFunction = void (*)(const float*, std::size_t, const std::int8_t*, std::size_t,
                              std::size_t, std::size_t, float*, std::size_t, std::size_t);

template <std::size_t P, std::size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile<R + 1, P>...};
}
// tiles[P - 1][R - 1]. Tiles wider than the register file allows (R · P > 24)
// are never chosen by widen_gemm but exist so every entry is valid.
const std::array<std::array<TileFunction, max_rows>, max_panels> tiles = {
    tiles_for<1>(std::make_index_sequence<max_rows>{}),
    tiles_for<2>(std::make_index_sequence<max_rows>{}),
    tiles_for<3>(std::make_index_sequence<max_rows>{}),
    tiles_for<4>(std::make_index_sequence<max_rows>{})};

void kernel_avx512(std::size_t rows, const float* x, std::size_t ldx, const std::int8_t* b,
                   std::size_t panel_stride, std::size_t panels, std::size_t k_begin,
                   std::size_t k_end, float* c, std::size_t ldc, std::size_t cols) {
  tiles[panels - 1][rows - 1](x, ldx, b, panel_stride, k_begin, k_end, c, ldc, cols);
}

}  // namespace

WidenKernel widen_kernel_avx512() {
  return {max_rows, max_panels, kernel_avx512};
}

}  // namespace tinyq

#else

namespace tinyq {
WidenKernel widen_kernel_avx512() {
  return widen_kernel_generic();
}
}  // namespace tinyq

#endif
