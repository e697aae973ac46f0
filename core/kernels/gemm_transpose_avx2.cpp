// Packing's transposing copy with AVX2: 8×8 blocks turned over in
// registers (the AVX-512 one, gemm_transpose_avx512.cpp, does 16×16).
//
// Packing op(A) for X · Wᵀ, and op(B) = Wᵀ, reads rows that are contiguous
// in k and writes panels contiguous across rows. A float at a time that is a
// load and a store per element: at the Dense training shapes the generic
// copy took a sixth of a training step's time on an AVX2 machine. Here 8 rows
// × 8 steps of k are loaded as 8 vectors, transposed in three rounds, and
// stored as 8 panel rows:
//
//   round 1  unpack{lo,hi}_ps     interleave floats of row pairs   (0,1) (2,3) …
//   round 2  shuffle_ps           gather float pairs               → 4×4 blocks per 128-bit half
//   round 3  permute2f128_ps      swap the halves across registers → columns
//
// Masked loads and stores handle k and the panel width (6 for the AVX2
// tile's A panel) not being multiples of 8; missing rows are zeros (the
// panel's padding). The bytes written are those of transpose_copy_generic.
#include <algorithm>

#include "core/kernels/gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))

namespace tinyq {

namespace {

// A mask of the first `count` (< 8 allowed) 32-bit lanes, for maskload/maskstore.
TINYQ_AVX2 __m256i first_lanes(std::size_t count) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count < 8 ? count : 8)), lane);
}

// r[i][j] → r[j][i] for an 8×8 block held in 8 registers.
TINYQ_AVX2 inline __attribute__((always_inline)) void transpose_8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // t[2i] per half: r2i[0] r2i+1[0] r2i[1] r2i+1[1]; t[2i+1] the same for columns 2, 3.
  for (int g = 0; g < 2; ++g) {
    const __m256 a = t[4 * g], b = t[4 * g + 1], c = t[4 * g + 2], d = t[4 * g + 3];
    u[4 * g + 0] = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(3, 2, 3, 2));
  }
  // u[4g + q], 128-bit half H, holds column 4H + q of rows 4g..4g+3.
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
    r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
  }
}

}  // namespace

TINYQ_AVX2 void transpose_copy_avx2(const float* src, std::size_t src_stride, std::size_t rows,
                                    std::size_t kc, std::size_t width, float* dst) {
  for (std::size_t r0 = 0; r0 < width; r0 += 8) {
    const bool full_store = width - r0 >= 8;
    const __m256i store_mask = first_lanes(width - r0);
    for (std::size_t p0 = 0; p0 < kc; p0 += 8) {
      const bool full_load = kc - p0 >= 8;
      const __m256i load_mask = first_lanes(kc - p0);
      __m256 block[8];
      for (std::size_t i = 0; i < 8; ++i) {
        const float* s = src + (r0 + i) * src_stride + p0;
        block[i] = r0 + i >= rows ? _mm256_setzero_ps()
                   : full_load    ? _mm256_loadu_ps(s)
                                  : _mm256_maskload_ps(s, load_mask);
      }
      transpose_8x8(block);
      const std::size_t steps = full_load ? 8 : kc - p0;
      for (std::size_t q = 0; q < steps; ++q) {
        float* d = dst + (p0 + q) * width + r0;
        if (full_store)
          _mm256_storeu_ps(d, block[q]);
        else
          _mm256_maskstore_ps(d, store_mask, block[q]);
      }
    }
  }
}

namespace {

// The first n (<= 8) floats at d, and back, with whole 128-bit, 64-bit and
// 32-bit moves: AMD's masked stores are microcoded and slow. The 64-bit moves
// are the unaligned ones (d need only be float-aligned).
TINYQ_AVX2 inline __attribute__((always_inline)) __m128 load_first_4(const float* d,
                                                                     std::size_t n) {
  if (n >= 4) return _mm_loadu_ps(d);
  const __m128 two = n >= 2 ? _mm_castsi128_ps(_mm_loadu_si64(d)) : _mm_setzero_ps();
  if (n % 2 == 0) return two;
  return _mm_movelh_ps(n == 1 ? _mm_load_ss(d) : two,
                       n == 1 ? _mm_setzero_ps() : _mm_load_ss(d + 2));
}

TINYQ_AVX2 inline __attribute__((always_inline)) void store_first_4(float* d, __m128 v,
                                                                    std::size_t n) {
  if (n >= 4) return _mm_storeu_ps(d, v);
  if (n >= 2) {
    _mm_storeu_si64(d, _mm_castps_si128(v));
    v = _mm_movehl_ps(v, v);
    d += 2;
  }
  if (n % 2 == 1) _mm_store_ss(d, v);
}

TINYQ_AVX2 inline __attribute__((always_inline)) __m256 load_first(const float* d, std::size_t n) {
  if (n == 8) return _mm256_loadu_ps(d);
  const __m128 low = load_first_4(d, n);
  const __m128 high = n > 4 ? load_first_4(d + 4, n - 4) : _mm_setzero_ps();
  return _mm256_insertf128_ps(_mm256_castps128_ps256(low), high, 1);
}

TINYQ_AVX2 inline __attribute__((always_inline)) void store_first(float* d, __m256 v,
                                                                  std::size_t n) {
  if (n == 8) return _mm256_storeu_ps(d, v);
  store_first_4(d, _mm256_castps256_ps128(v), n);
  if (n > 4) store_first_4(d + 4, _mm256_extractf128_ps(v, 1), n - 4);
}

}  // namespace

// merge_tile_transposed (gemm_kernels.hpp) with the same 8×8 turn: 8
// columns of the tile become 8 register rows, each merged into the `rows`
// floats of the row of C it belongs to.
TINYQ_AVX2 void merge_tile_transposed_avx2(const float* tile, std::size_t nr, float* c,
                                           std::size_t ldc, std::size_t rows, std::size_t cols,
                                           float beta) {
  if (rows > 8 || nr % 8 != 0) return merge_tile_transposed(tile, nr, c, ldc, rows, cols, beta);
  const __m256 beta_v = _mm256_set1_ps(beta);
  for (std::size_t c0 = 0; c0 < cols; c0 += 8) {
    __m256 block[8];
    for (std::size_t i = 0; i < 8; ++i)
      block[i] = i < rows ? _mm256_loadu_ps(tile + i * nr + c0) : _mm256_setzero_ps();
    transpose_8x8(block);
    const std::size_t columns = std::min<std::size_t>(8, cols - c0);
    for (std::size_t q = 0; q < columns; ++q) {
      float* d = c + (c0 + q) * ldc;
      const __m256 merged =
          beta == 0.0f ? block[q] : _mm256_fmadd_ps(beta_v, load_first(d, rows), block[q]);
      store_first(d, merged, rows);
    }
  }
}

}  // namespace tinyq

#else

namespace tinyq {
void transpose_copy_avx2(const float* src, std::size_t src_stride, std::size_t rows, std::size_t kc,
                         std::size_t width, float* dst) {
  transpose_copy_generic(src, src_stride, rows, kc, width, dst);
}
void merge_tile_transposed_avx2(const float* tile, std::size_t nr, float* c, std::size_t ldc,
                                std::size_t rows, std::size_t cols, float beta) {
  merge_tile_transposed(tile, nr, c, ldc, rows, cols, beta);
}
}  // namespace tinyq

#endif
