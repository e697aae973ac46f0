// Float rows times 2-, 3- or 4-bit weight codes, each group of a row with
// its own step and offset: the product under sub-8-bit weight-only
// quantization.
//
//   C[r][j] = bias[j] + Σ_g ( step[j][g] · Σ_{p∈g} x[r][p] · c[j][p]
//                           + offset[j][g] · Σ_{p∈g} x[r][p] )
//
// with codes c = u - shift, u in [0, 2^bits) the stored field and shift one
// integer per matrix (w = c · step + offset in group g). quant/weight_only
// gives asymmetric codes shift 0, so that neither term is much larger than
// their sum (c near -128 with 128 steps folded into the offset, as the
// 8-bit path writes its codes, cost about five bits to cancellation).
// The codes stay packed in memory, 8 outputs to a panel, and are unpacked
// inside the kernel's registers: a 32-bit word broadcast to 8 lanes, each
// lane shifted right by its own amount (vpsrlvd), masked and converted to
// float. So the weights cost bits/32 of a float matrix in memory and cache,
// and no buffer of wide weights is ever written. Each group's dot products
// are summed in their own registers and scaled once per group:
//
//   fields    bits 3, 4: one nibble per output, a 32-bit word per input p
//             bits 2:    two bits per output, one word per two inputs
//   panel P   outputs 8P..8P+7; its words for p = 0, 1, ... in order;
//             lane t's field at bits field·t (+ 16 for the odd p of bits 2)
//   pairs     panels 2Q and 2Q+1 interleave their words, 2Q's first:
//             word w of panel P at panel_words(P)[2w], so one 64-bit load
//             holds both panels' fields of an input (the AVX-512 kernel's
//             unpacking); an odd last panel is paired with zero words
//
// 3-bit codes use the 4-bit fields (their memory is that of 4 bits).
// Sums run over p in order within a group, groups in order, with fused
// multiply-adds on the avx2 and avx512 paths, which give the same bits (the
// generic path differs in the last bits; thread counts never change a
// result, each element being one kernel's work).
//
// Files: widen_gemm_lowbit.cpp (packing, path table, generic kernel, the
// reference), widen_gemm_lowbit_avx2.cpp (8 outputs to a register),
// widen_gemm_lowbit_avx512.cpp (16, two panels side by side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/kernels/isa.hpp"

namespace tinyq {

inline constexpr std::size_t lowbit_panel_columns = 8;

struct LowBitPanels {
  std::size_t n = 0, k = 0;
  int bits = 4;
  std::size_t group = 0;   // inputs per group (the last may be shorter)
  std::size_t groups = 0;  // ceil(k / group)
  bool has_offsets = false;
  std::int32_t code_shift = 0;       // c = u - code_shift
  std::vector<std::uint32_t> words;  // panels() · words_per_panel()
  // Per panel and group, the 8 outputs' steps and offsets ([panel][group][8]).
  std::vector<float> steps, offsets;

  std::size_t panels() const { return (n + lowbit_panel_columns - 1) / lowbit_panel_columns; }
  std::size_t pairs() const { return (panels() + 1) / 2; }
  int field_bits() const { return bits == 2 ? 2 : 4; }
  std::size_t words_per_panel() const { return field_bits() == 2 ? (k + 1) / 2 : k; }
  // Where panel P's first word lies in `words`; its word w lies
  // lowbit_word_stride · w further on.
  std::size_t panel_word_offset(std::size_t panel) const {
    return (panel / 2) * 2 * words_per_panel() + panel % 2;
  }
  const std::uint32_t* panel_words(std::size_t panel) const {
    return words.data() + panel_word_offset(panel);
  }
};
inline constexpr std::size_t lowbit_word_stride = 2;

// codes [n, k] (row stride ld_codes), one unsigned field u per byte, < 2^bits;
// steps and offsets [n, groups] (row-major). bits 2..4; group >= 1, and
// even when bits is 2 and group < k (so no pair of inputs spans two
// groups). Throws Error otherwise.
LowBitPanels pack_lowbit_panels(std::size_t n, std::size_t k, int bits, std::size_t group,
                                const std::uint8_t* codes, std::size_t ld_codes,
                                std::int32_t code_shift, const float* steps, const float* offsets);

// C (m rows of b.n, row stride ldc) = the sums above for x (row stride
// ldx), bias [b.n]. Throws Error when this CPU cannot run `isa` (family
// widen_gemm). Single-threaded.
void lowbit_gemm(Isa isa, std::size_t m, const float* x, std::size_t ldx, const LowBitPanels& b,
                 const float* bias, float* c, std::size_t ldc);
// The same for the outputs of panels [panel_begin, panel_end) only (c and
// bias still indexed from output 0), so that a few rows (batch-1 inference)
// can be split across threads by outputs. Every output is summed exactly as
// lowbit_gemm sums it, so the split never changes a bit.
void lowbit_gemm_panels(Isa isa, std::size_t m, const float* x, std::size_t ldx,
                        const LowBitPanels& b, std::size_t panel_begin, std::size_t panel_end,
                        const float* bias, float* c, std::size_t ldc);

// The definition on the unpacked form, in double: what the paths are tested against.
void lowbit_gemm_reference(std::size_t m, const float* x, std::size_t ldx, std::size_t n,
                           std::size_t k, std::size_t group, const std::uint8_t* codes,
                           std::int32_t code_shift, const float* steps, const float* offsets,
                           const float* bias, float* c, std::size_t ldc);

// Σ x[i] for i < n in 16 interleaved partial sums (independent lanes a
// compiler keeps in one vector register), then the tail, then the partials
// in order: the Σx of the formula above, also used by the 8-bit path.
float interleaved_sum(const float* x, std::size_t n);

// The end of a group for a tile (internal): for each row r and column i of
// the tile's panels,
//   total[r][i] += step[i] · sums[r][i] + offset[i] · xsums[r · xsum_stride]
// as two products and two additions, each rounded: the 8-bit path's plain
// C++ rescaling. It lives in a file built for the baseline instruction set,
// where no fused multiply-add can be substituted (GCC fuses a·b + c
// wherever FMA is enabled), so every path rounds the same way. steps and
// offsets: panel q's 8 at q · panel_stride. sums and total: [rows][width].
void lowbit_rescale_group(std::size_t rows, std::size_t width, const float* sums,
                          const float* steps, const float* offsets, std::size_t panel_stride,
                          const float* xsums, std::size_t xsum_stride, float* total);

// A tile's running totals, [rows][width] for the outputs from panel · 8 on,
// start at the bias (0 past the last output): every kernel's first step.
inline void lowbit_start_totals(const LowBitPanels& b, std::size_t panel, const float* bias,
                                std::size_t rows, std::size_t width, float* total) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < width; ++i) {
      const std::size_t j = panel * lowbit_panel_columns + i;
      total[r * width + i] = j < b.n ? bias[j] : 0.0f;
    }
}

// The kernels (internal): a tile of rows × panels. xsums [rows][b.groups]
// holds Σ x over each group (zeros when !b.has_offsets). Each group ends
// with total += step · sums + offset · Σx: two products and two additions,
// not fused, as the 8-bit path's plain C++ rescaling does.
using LowBitKernelFunction = void (*)(std::size_t rows, const float* x, std::size_t ldx,
                                      const float* xsums, const LowBitPanels& b, std::size_t panel,
                                      std::size_t panels, const float* bias, float* c,
                                      std::size_t ldc);
// The same on codes widened to float beforehand (as the path's
// widen_panels lays them out), for tiles of at most wide_rows rows. x is
// the tile's first row: element (r, p) at x[p · wide_rows + r] when the
// path packs x (wide_x_packed), else at x[r · ldx + p]. Each group's sums
// run over p in the same order and end with the same rescaling, so the
// bits are those of `run`.
using LowBitWideFunction = void (*)(std::size_t rows, const float* x, std::size_t ldx,
                                    const float* xsums, const float* wide, std::size_t wide_stride,
                                    const LowBitPanels& b, std::size_t panel, std::size_t panels,
                                    const float* bias, float* c, std::size_t ldc);
struct LowBitKernel {
  std::size_t max_rows;
  std::size_t max_panels_one_row;  // for a single row (batch-1 latency)
  std::size_t max_panels;          // otherwise
  LowBitKernelFunction run;
  LowBitWideFunction run_wide = nullptr;  // if the path has one, with:
  // panels [panel, panel + panels) of b as run_wide reads them (wide_stride
  // floats apart).
  void (*widen_panels)(const LowBitPanels& b, std::size_t panel, std::size_t panels, float* wide,
                       std::size_t wide_stride) = nullptr;
  std::size_t wide_rows = 0;
  // Whether run_wide reads x packed, the tile's rows side by side
  // (pack_rows_side_by_side), or in place.
  bool wide_x_packed = true;
};
LowBitKernel lowbit_kernel_generic();
LowBitKernel lowbit_kernel_avx2();
LowBitKernel lowbit_kernel_avx512();

}  // namespace tinyq
