// lowbit_int_gemm on AVX2: up to 3 rows × 1 panel (16 outputs) per tile.
//
// Per k-group: the codes of the panel's two halves come out of one 32-byte
// load with a mask (and a 16-bit shift for the high fields), and each row's
// four activations, broadcast, meet them in int8_gemm_u7's three
// instructions: vpmaddubsw (a · u pairs in int16: 2 · 127 · 15 at most, far
// from saturation), vpmaddwd against ones (pairs of pairs into int32),
// vpaddd. At the end of each group the int32 sums become floats and are
// added into the tile's float sums (kept in L1), A being the row's group sum:
//
//   sum += float(S) · t + o · A                    (two fused multiply-adds)
//
// and after the last group y = bias + d · sum − (z · d) · Z
// (lowbit_int_gemm.hpp has the algebra). With groups of 64 inputs that is
// a few instructions per 16 k-groups of products.
//
// Each tile (and a lone row) walks only the k-groups where its activations
// are not all zero. Against dense tiles, in one process, alternated (15
// rounds, median time ratio; 4-bit / 2-bit, asymmetric groups of 64): whole
// test set 0.91 / 0.91 on Fashion-MNIST and 0.80 / 0.71 on MNIST (2
// threads); batch 1, 1000 images, 0.80 / 0.75 and 0.80 / 0.69.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/kernels/int8_gemm_kernels.hpp"
#include "core/kernels/lowbit_int_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define TINYQ_AVX2 __attribute__((target("avx2,fma")))
#define TINYQ_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline))

namespace tinyq {

namespace {

// 3 rows: 6 int32 sums, the two halves' codes, the mask, the ones and the
// broadcast fit AVX2's 16 registers; at 4 rows g++ 12 keeps sums on the
// stack. Measured on one core at 48 × 784 × 256, groups of 64: 76 G
// products/s at 3 rows, 49-65 at 4 and 50-67 at 2 (int8_gemm_u7: 90-95).
constexpr std::size_t tile_rows = 3;

// The two halves' codes of k-group `index` of a word (0 for 4-bit fields,
// 0 or 1 for 2-bit ones) as bytes.
template <int FieldBits>
TINYQ_AVX2 inline void unpack(__m256i word, std::size_t index, __m256i& low, __m256i& high) {
  const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << FieldBits) - 1));
  const int shift = static_cast<int>(index) * 2 * FieldBits;
  const __m256i shifted = _mm256_srli_epi16(word, shift);
  low = _mm256_and_si256(shifted, mask);
  high = _mm256_and_si256(_mm256_srli_epi16(shifted, FieldBits), mask);
}

// The k-groups summed are list[0 .. count), ascending: those where the
// tile's activations are not all zero (the others add nothing to S). Each
// group's S is the same integer as over all its k-groups, and the float
// steps after it are the same, so skipping changes no bit.
template <std::size_t R, int FieldBits>
TINYQ_AVX2 void tile(const U7Rows& x, std::size_t row, const std::uint32_t* list, std::size_t count,
                     const LowBitIntPanels& b, std::size_t panel, const float* bias, float* c,
                     std::size_t ldc) {
  constexpr std::size_t per_word = FieldBits == 2 ? 2 : 1;
  const __m256i ones = _mm256_set1_epi16(1);
  const std::uint8_t* codes = b.codes.data() + panel * b.panel_bytes();
  const std::size_t j0 = panel * 16, cols = std::min<std::size_t>(16, b.n - j0);
  alignas(32) float sums[R][16] = {};
  const std::uint8_t* a[R];
  for (std::size_t r = 0; r < R; ++r) a[r] = x.a + (row + r) * x.lda;
  std::size_t next = 0;  // the first entry of list not yet summed
  for (std::size_t g = 0; g < b.groups; ++g) {
    const std::size_t kg_end = g + 1 == b.groups ? b.k_groups : (g + 1) * b.group / 4;
    __m256i acc[R][2];
    for (std::size_t r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const auto add_group = [&](std::size_t kg) TINYQ_AVX2_INLINE {
      const __m256i word =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + (kg / per_word) * 32));
      __m256i w0, w1;
      unpack<FieldBits>(word, kg % per_word, w0, w1);
      for (std::size_t r = 0; r < R; ++r) {
        std::int32_t four;
        std::memcpy(&four, a[r] + kg * 4, sizeof four);
        const __m256i xs = _mm256_set1_epi32(four);
        acc[r][0] =
            _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(xs, w0), ones));
        acc[r][1] =
            _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(xs, w1), ones));
      }
    };
    for (; next < count && list[next] < kg_end; ++next) add_group(list[next]);
    const std::size_t slot = (panel * b.groups + g) * 16;
    const __m256 t[2] = {_mm256_loadu_ps(b.steps.data() + slot),
                         _mm256_loadu_ps(b.steps.data() + slot + 8)};
    const __m256 o[2] = {_mm256_loadu_ps(b.offsets.data() + slot),
                         _mm256_loadu_ps(b.offsets.data() + slot + 8)};
    for (std::size_t r = 0; r < R; ++r) {
      const __m256 group_sum =
          _mm256_set1_ps(static_cast<float>(x.group_sums[(row + r) * b.groups + g]));
      for (std::size_t h = 0; h < 2; ++h) {
        __m256 v = _mm256_load_ps(sums[r] + 8 * h);
        v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][h]), t[h], v);
        v = _mm256_fmadd_ps(o[h], group_sum, v);
        _mm256_store_ps(sums[r] + 8 * h, v);
      }
    }
  }
  alignas(32) float biases[16] = {};
  if (bias != nullptr) std::copy(bias + j0, bias + j0 + cols, biases);
  for (std::size_t r = 0; r < R; ++r) {
    const float d = x.steps[row + r];
    const __m256 ds = _mm256_set1_ps(d);
    const __m256 zero_d = _mm256_set1_ps(static_cast<float>(x.zero_points[row + r]) * d);
    alignas(32) float y[16];
    for (std::size_t h = 0; h < 2; ++h) {
      __m256 v =
          _mm256_fmadd_ps(_mm256_load_ps(sums[r] + 8 * h), ds, _mm256_load_ps(biases + 8 * h));
      v = _mm256_fnmadd_ps(_mm256_loadu_ps(b.zero_terms.data() + panel * 16 + 8 * h), zero_d, v);
      _mm256_store_ps(y + 8 * h, v);
    }
    std::copy(y, y + cols, c + (row + r) * ldc + j0);
  }
}

template <int FieldBits, std::size_t... R>
constexpr std::array<LowBitTileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile<R + 1, FieldBits>...};
}

// What a listed product costs walking one row at a time, against a tile of
// 3 rows walking their common list: alone, a row unpacks each code word for
// itself. Whole Fashion-MNIST test set, 2 threads, groups of 64: every
// block walking row lists took 1.26x (4-bit) and 1.36x (2-bit) the time of
// dense tiles; a row lists 62% of its k-groups, a 4-row tile 89% (a 3-row
// one a little fewer). That is about 1.8x per product (list_block's row_cost).
constexpr double row_walk_cost = 1.8;

void kernel_avx2(const U7Rows& x, const LowBitIntPanels& b, std::size_t panel_begin,
                 std::size_t panel_end, const float* bias, float* c, std::size_t ldc) {
  static constexpr auto nibbles = tiles_for<4>(std::make_index_sequence<tile_rows>{});
  static constexpr auto crumbs = tiles_for<2>(std::make_index_sequence<tile_rows>{});
  run_lowbit_tiles(b.field_bits() == 2 ? crumbs : nibbles, {}, list_nonzero_words_avx2,
                   row_walk_cost, x, b, panel_begin, panel_end, bias, c, ldc);
}
}  // namespace

LowBitIntKernel lowbit_int_kernel_avx2() {
  return kernel_avx2;
}

}  // namespace tinyq

#else

namespace tinyq {
LowBitIntKernel lowbit_int_kernel_avx2() {
  return lowbit_int_gemm_generic;
}
}  // namespace tinyq

#endif
