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

#include "core/kernels/widen_gemm.hpp"

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

// 16 weights of a panel row as floats: widened from bytes, or loaded as they
// are when widen_gemm has widened the panels beforehand.
TINYQ_AVX512 inline __m512 load_weights(const std::int8_t* b) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
  return _mm512_maskz_cvtepi32_ps(all16, _mm512_maskz_cvtepi8_epi32(all16, bytes));
}
TINYQ_AVX512 inline __m512 load_weights(const float* b) {
  return _mm512_loadu_ps(b);
}

// T = std::int8_t: b holds codes; T = float: b holds panels widened
// beforehand. Either way x is read in place (x[r * ldx + p]): packing the
// rows side by side first, so that each step of p read one cache line of x,
// took 1.08-1.23x as long on the whole Fashion-MNIST test set (int8
// weight-only, 2 threads, builds alternated three times).
template <typename T, std::size_t R, std::size_t P>
TINYQ_AVX512 void tile(const float* x, std::size_t ldx, const T* b, std::size_t panel_stride,
                       std::size_t k_begin, std::size_t k_end, float* c, std::size_t ldc,
                       std::size_t cols, bool accumulate) {
  // accumulate: continue the sums already in C (a later block of k), which
  // gives the same additions in the same order as one unbroken loop.
  __m512 acc[R][P];
  for (std::size_t q = 0; q < P; ++q) {
    const std::size_t first = q * widen_panel_columns;
    const std::size_t count = first < cols ? std::min(widen_panel_columns, cols - first) : 0;
    const auto mask = static_cast<__mmask16>((1u << count) - 1u);
    for (std::size_t r = 0; r < R; ++r)
      acc[r][q] =
          accumulate ? _mm512_maskz_loadu_ps(mask, c + r * ldc + first) : _mm512_setzero_ps();
  }
  for (std::size_t p = k_begin; p < k_end; ++p) {
    __m512 w[P];
    for (std::size_t q = 0; q < P; ++q)
      w[q] = load_weights(b + q * panel_stride + p * widen_panel_columns);
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

template <typename T>
using TileFunction = void (*)(const float*, std::size_t, const T*, std::size_t, std::size_t,
                              std::size_t, float*, std::size_t, std::size_t, bool);

template <typename T, std::size_t P, std::size_t... R>
constexpr std::array<TileFunction<T>, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile<T, R + 1, P>...};
}
// tiles<T>[P - 1][R - 1]. Tiles wider than the register file allows
// (R · P > 24) are never chosen by widen_gemm but exist so every entry is valid.
template <typename T>
const std::array<std::array<TileFunction<T>, max_rows>, max_panels> tiles = {
    tiles_for<T, 1>(std::make_index_sequence<max_rows>{}),
    tiles_for<T, 2>(std::make_index_sequence<max_rows>{}),
    tiles_for<T, 3>(std::make_index_sequence<max_rows>{}),
    tiles_for<T, 4>(std::make_index_sequence<max_rows>{})};

void kernel_avx512(std::size_t rows, const float* x, std::size_t ldx, const std::int8_t* b,
                   std::size_t panel_stride, std::size_t panels, std::size_t k_begin,
                   std::size_t k_end, float* c, std::size_t ldc, std::size_t cols) {
  tiles<std::int8_t>[panels - 1][rows - 1](x, ldx, b, panel_stride, k_begin, k_end, c, ldc, cols,
                                           false);
}

void kernel_avx512_wide(std::size_t rows, const float* x, std::size_t ldx, const float* b,
                        std::size_t panel_stride, std::size_t panels, std::size_t length, float* c,
                        std::size_t ldc, std::size_t cols, bool accumulate) {
  tiles<float>[panels - 1][rows - 1](x, ldx, b, panel_stride, 0, length, c, ldc, cols, accumulate);
}

}  // namespace

WidenKernel widen_kernel_avx512() {
  return {max_rows, max_panels, kernel_avx512, kernel_avx512_wide, max_rows, false};
}

}  // namespace tinyq

#else

namespace tinyq {
WidenKernel widen_kernel_avx512() {
  return widen_kernel_generic();
}
}  // namespace tinyq

#endif
