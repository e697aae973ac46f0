// lowbit_int_gemm on AVX-512 VNNI: up to 6 rows × 2 panels (32 outputs) per
// tile.
//
// The packed codes are laid out for AVX2 (lowbit_int_gemm.hpp): a 32-byte
// word holds, for one k-group (4-bit fields) or two (2-bit fields), lane
// l's four inputs of output l in the low field of each byte and of output
// 8 + l in the next field up. Masked out (and shifted, for the higher
// fields) the two halves are 32 bytes each, and side by side in one 64-byte
// register they are exactly a packed int8 k-group: output j's four codes in
// lane j. One vpdpbusd per row then adds a[r][4g..4g+3] · u for all 16
// outputs: activations unsigned (0..127), codes 0..15 read as signed bytes,
// summed in int32, so nothing can saturate. Per k-group: one load and four
// or five instructions to unpack, shared by the tile's rows, then one
// broadcast and one vpdpbusd per row.
//
// The float steps are the AVX2 kernel's, in the same order and with the same
// fused multiply-adds, 16 lanes at a time, so the two paths give the same
// bits: at the end of each group of inputs
//
//   sum += float(S) · t + o · A                    (two fused multiply-adds)
//
// and after the last group y = bias + d · sum − (z · d) · Z. The tile's
// float sums stay in registers (AVX2 keeps them in L1: it has 16 registers).
//
// Each tile (or each row alone, when that lists far fewer k-groups: see
// row_walk_cost) walks only the k-groups where its activations are not all
// zero; a skipped group adds nothing to S, so no bit changes.
//
// Dynamic int8 with 4- and 2-bit weights (groups of 64), whole test set, 2
// threads, Zen 5, 11-15 alternated rounds against the AVX2 kernel on the
// same machine: 0.64 and 0.61 of the time on Fashion-MNIST, 0.64 and 0.60
// on mnist-10k. Two panels to a tile instead of one (12 sums in flight, each
// activation broadcast once for both), 10,000 rows through the
// 784-256-128-10 MLP, builds alternated 3x: 0.81-0.83 of the time at 4 bits,
// 0.87-0.90 at 2; batch 1 at 4 bits 3.3 -> 2.6 us.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/kernels/int8_gemm_kernels.hpp"
#include "core/kernels/lowbit_int_gemm_kernels.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/kernels/vnni_avx512.hpp"

namespace tinyq {

namespace {

// As int8_gemm's VNNI tile: 6 rows (their sums and float sums are 12 of the
// 32 registers).
constexpr std::size_t tile_rows = 6;

// The 16 outputs' codes of k-group `index` of a word (0 for 4-bit fields, 0
// or 1 for 2-bit ones), as one packed int8 k-group.
template <int FieldBits>
TINYQ_AVX512_VNNI_INLINE inline __m512i unpack(__m256i word, std::size_t index) {
  const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << FieldBits) - 1));
  const int shift = static_cast<int>(index) * 2 * FieldBits;
  const __m256i shifted = _mm256_srli_epi16(word, shift);
  const __m256i low = _mm256_and_si256(shifted, mask);
  const __m256i high = _mm256_and_si256(_mm256_srli_epi16(shifted, FieldBits), mask);
  // The zero-masking forms with every lane on: GCC 12's unmasked ones pass
  // an "undefined" source that -Wmaybe-uninitialized flags; same instructions.
  return _mm512_maskz_inserti64x4(0xFF, _mm512_castsi256_si512(low), high, 1);
}

// The k-groups summed are list[0 .. count), ascending. P panels side by
// side (1 or 2) from `panel`: with two, each broadcast activation feeds two
// vpdpbusd, and 12 sums are in flight where 6 had waited on the
// instruction's latency.
template <std::size_t R, int FieldBits, std::size_t P>
TINYQ_AVX512_VNNI void tile(const U7Rows& x, std::size_t row, const std::uint32_t* list,
                            std::size_t count, const LowBitIntPanels& b, std::size_t panel,
                            const float* bias, float* c, std::size_t ldc) {
  constexpr std::size_t per_word = FieldBits == 2 ? 2 : 1;
  const std::uint8_t* codes[P];
  for (std::size_t q = 0; q < P; ++q) codes[q] = b.codes.data() + (panel + q) * b.panel_bytes();
  __m512 sums[R][P];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t q = 0; q < P; ++q) sums[r][q] = _mm512_setzero_ps();
  const std::uint8_t* a[R];
  for (std::size_t r = 0; r < R; ++r) a[r] = x.a + (row + r) * x.lda;
  std::size_t next = 0;  // the first entry of list not yet summed
  for (std::size_t g = 0; g < b.groups; ++g) {
    const std::size_t kg_end = g + 1 == b.groups ? b.k_groups : (g + 1) * b.group / 4;
    __m512i acc[R][P];
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm512_setzero_si512();
    for (; next < count && list[next] < kg_end; ++next) {
      const std::size_t kg = list[next];
      __m512i u[P];
      for (std::size_t q = 0; q < P; ++q)
        u[q] = unpack<FieldBits>(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes[q] + (kg / per_word) * 32)),
            kg % per_word);
      for (std::size_t r = 0; r < R; ++r) {
        std::int32_t four;
        std::memcpy(&four, a[r] + kg * 4, sizeof four);
        const __m512i activations = _mm512_set1_epi32(four);
        for (std::size_t q = 0; q < P; ++q) acc[r][q] = dpbusd(acc[r][q], activations, u[q]);
      }
    }
    for (std::size_t q = 0; q < P; ++q) {
      const std::size_t slot = ((panel + q) * b.groups + g) * 16;
      const __m512 t = _mm512_loadu_ps(b.steps.data() + slot);
      const __m512 o = _mm512_loadu_ps(b.offsets.data() + slot);
      for (std::size_t r = 0; r < R; ++r) {
        const __m512 group_sum =
            _mm512_set1_ps(static_cast<float>(x.group_sums[(row + r) * b.groups + g]));
        sums[r][q] = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, acc[r][q]), t, sums[r][q]);
        sums[r][q] = _mm512_fmadd_ps(o, group_sum, sums[r][q]);
      }
    }
  }
  for (std::size_t q = 0; q < P; ++q) {
    const std::size_t j0 = (panel + q) * 16, cols = std::min<std::size_t>(16, b.n - j0);
    const auto lanes = static_cast<__mmask16>((1u << cols) - 1u);
    const __m512 biases =
        bias != nullptr ? _mm512_maskz_loadu_ps(lanes, bias + j0) : _mm512_setzero_ps();
    const __m512 zero_terms = _mm512_loadu_ps(b.zero_terms.data() + (panel + q) * 16);
    for (std::size_t r = 0; r < R; ++r) {
      const float d = x.steps[row + r];
      const __m512 zero_d = _mm512_set1_ps(static_cast<float>(x.zero_points[row + r]) * d);
      __m512 y = _mm512_fmadd_ps(sums[r][q], _mm512_set1_ps(d), biases);
      y = _mm512_fnmadd_ps(zero_terms, zero_d, y);
      _mm512_mask_storeu_ps(c + (row + r) * ldc + j0, lanes, y);
    }
  }
}

template <int FieldBits, std::size_t P, std::size_t... R>
constexpr std::array<LowBitTileFunction, sizeof...(R)> tiles_for(std::index_sequence<R...>) {
  return {tile<R + 1, FieldBits, P>...};
}

// What a listed product costs walking one row at a time, against a tile of
// 6 rows walking their common list: alone, a row unpacks each code word for
// itself (list_block's row_cost). Whole Fashion-MNIST test set, 2 threads,
// 4-bit groups of 64, 11 alternated rounds against 3: 2 took 1.05x the
// time; 5, and tiles only, the same as 3. With 6-row tiles the rows' own
// lists seldom pay.
constexpr double row_walk_cost = 3.0;

void kernel_avx512(const U7Rows& x, const LowBitIntPanels& b, std::size_t panel_begin,
                   std::size_t panel_end, const float* bias, float* c, std::size_t ldc) {
  static constexpr auto nibbles = tiles_for<4, 1>(std::make_index_sequence<tile_rows>{});
  static constexpr auto crumbs = tiles_for<2, 1>(std::make_index_sequence<tile_rows>{});
  static constexpr auto nibble_pairs = tiles_for<4, 2>(std::make_index_sequence<tile_rows>{});
  static constexpr auto crumb_pairs = tiles_for<2, 2>(std::make_index_sequence<tile_rows>{});
  const bool two_bit = b.field_bits() == 2;
  run_lowbit_tiles(two_bit ? crumbs : nibbles, two_bit ? crumb_pairs : nibble_pairs,
                   list_nonzero_words_avx512, row_walk_cost, x, b, panel_begin, panel_end, bias, c,
                   ldc);
}

}  // namespace

LowBitIntKernel lowbit_int_kernel_avx512() {
  return kernel_avx512;
}

}  // namespace tinyq

#else

namespace tinyq {
LowBitIntKernel lowbit_int_kernel_avx512() {
  return lowbit_int_gemm_generic;
}
}  // namespace tinyq

#endif
