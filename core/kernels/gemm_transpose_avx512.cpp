// Packing's transposing copy with AVX-512: 16×16 blocks turned over in
// registers.
//
// pack_across (core/kernels/gemm_pack.cpp) turns rows that are contiguous in k into
// panels that are contiguous across rows. Done one float at a time that is
// a load and a store per element, and for the Dense shapes it costs as much
// as a third of the product. Here 16 rows × 16 steps of k are loaded as 16
// vectors, transposed with four rounds of shuffles, and stored as 16 panel
// rows:
//
//   round 1  unpack{lo,hi}_ps   interleave floats of row pairs    (0,1) (2,3) …
//   round 2  unpack{lo,hi}_pd   interleave float pairs of pairs   → 4×4 blocks
//   round 3  shuffle_f32x4      gather 128-bit blocks of groups 0+1, 2+3
//   round 4  shuffle_f32x4      gather across those                → columns
//
// Masked loads and stores handle k and the panel width not being multiples
// of 16, and missing rows load as zeros (the panel's padding).
#include "core/kernels/gemm_pack.hpp"

#if defined(__x86_64__) || defined(__i386__)

// GCC 12 reports the deliberately undefined pass-through operand inside
// the shuffle intrinsics as "may be used uninitialized"; it is not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#define TINYQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace tinyq {

namespace {

TINYQ_AVX512 __mmask16 first_lanes(std::size_t count) {
  return count >= 16 ? __mmask16(0xffff) : __mmask16((1u << count) - 1);
}

// r[i][j] → r[j][i] for a 16×16 block held in 16 registers.
TINYQ_AVX512 void transpose_16x16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // u[4g + q], 128-bit lane L, holds column 4L + q of rows 4g..4g+3.
  for (int q = 0; q < 4; ++q) {
    const __m512 x0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
    const __m512 x1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xdd);
    const __m512 y0 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
    const __m512 y1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xdd);
    r[q] = _mm512_shuffle_f32x4(x0, y0, 0x88);
    r[8 + q] = _mm512_shuffle_f32x4(x0, y0, 0xdd);
    r[4 + q] = _mm512_shuffle_f32x4(x1, y1, 0x88);
    r[12 + q] = _mm512_shuffle_f32x4(x1, y1, 0xdd);
  }
}

}  // namespace

TINYQ_AVX512 void transpose_copy_avx512(const float* src, std::size_t src_stride, std::size_t rows,
                                        std::size_t kc, std::size_t width, float* dst) {
  for (std::size_t r0 = 0; r0 < width; r0 += 16) {
    const __mmask16 store_mask = first_lanes(width - r0);
    for (std::size_t p0 = 0; p0 < kc; p0 += 16) {
      const __mmask16 load_mask = first_lanes(kc - p0);
      __m512 block[16];
      for (std::size_t i = 0; i < 16; ++i)
        block[i] = r0 + i < rows
                       ? _mm512_maskz_loadu_ps(load_mask, src + (r0 + i) * src_stride + p0)
                       : _mm512_setzero_ps();
      transpose_16x16(block);
      const std::size_t steps = kc - p0 < 16 ? kc - p0 : 16;
      for (std::size_t q = 0; q < steps; ++q)
        _mm512_mask_storeu_ps(dst + (p0 + q) * width + r0, store_mask, block[q]);
    }
  }
}

}  // namespace tinyq

#else

namespace tinyq {
void transpose_copy_avx512(const float* src, std::size_t src_stride, std::size_t rows,
                           std::size_t kc, std::size_t width, float* dst) {
  transpose_copy_generic(src, src_stride, rows, kc, width, dst);
}
}  // namespace tinyq

#endif
