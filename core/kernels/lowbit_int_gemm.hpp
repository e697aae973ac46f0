// 7-bit activation rows times 2-, 3- or 4-bit weight codes that stay
// packed, with a float step and offset per group of inputs: how a 4-bit
// model runs faster than float (ggml's Q4 × Q8 dot products, in tinyq's
// panel layout).
//
// Each row r arrives quantized (by the caller, quant/dynamic_int8): inputs
// x_ri ≈ d_r · (a_ri − z_r) with a_ri in 0..127, and A_rg = Σ_{i∈g} a_ri
// per group g. Weight j inside group g is w_ji = u_ji · t_jg + o_jg with u
// the stored field (0 .. 2^bits − 1). Expanding (a − z) · d · w and summing:
//
//   Σ_i x_ri · w_ji = d_r · [ Σ_g ( t_jg · S_rjg + o_jg · A_rg )  −  z_r · Z_j ]
//   S_rjg = Σ_{i∈g} a_ri · u_ji,     Z_j = Σ_g ( t_jg · U_jg + o_jg · n_g ),  U_jg = Σ_{i∈g} u_ji
//
// S is an exact int32 sum (vpmaddubsw on AVX2: a < 128 and u < 16, so no
// pair sum comes near int16's limit); Z depends on the weights only and is
// computed when they are packed, so each group costs two multiply-adds per
// output and row, and the row's d and z are applied once at the end.
// C[r][j] = bias[j] + that.
//
// Layout: outputs in panels of 16 and inputs in k-groups of 4, as
// int8_gemm's (core/kernels/int8_gemm.hpp), but 4-bit fields: a k-group of a
// panel (64 codes) is 32 bytes, byte t holding in its low nibble the code of
// output t / 4 and input t % 4 and in its high nibble that of output
// 8 + t / 4. One 32-byte load, a mask and a shift give the two halves of the
// panel that int8_gemm_u7's kernel multiplies. 2-bit codes pack two k-groups
// in those 32 bytes (fields 0, 1: k-group g, fields 2, 3: g + 1; two bits
// each); 3-bit codes use the 4-bit fields. So the weights take bits / 8
// bytes each (3-bit: 4 / 8), and no buffer of wider codes is ever written.
//
// Groups must be whole words of the layout: a multiple of 4 inputs (of 8
// with 2-bit codes), unless one group spans the whole row. Sums over a group
// run in int32 inside the kernel; groups are added in order in float, with
// fused multiply-adds on the avx2 path (the generic path's last bits
// differ; thread counts never change a result: each output is one
// kernel's work).
//
// Files: lowbit_int_gemm.cpp (packing, the generic kernel, the reference,
// the tile walk), lowbit_int_gemm_avx2.cpp (vpmaddubsw) and
// lowbit_int_gemm_avx512.cpp (vpdpbusd).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/aligned_allocator.hpp"
#include "core/kernels/isa.hpp"

namespace tinyq {

inline constexpr std::size_t lowbit_int_panel_columns = 16;  // outputs per panel

struct LowBitIntPanels {
  std::size_t n = 0, k = 0;
  int bits = 4;
  std::size_t group = 0;     // inputs per group (a multiple of 4, or 8 at 2 bits, or k)
  std::size_t groups = 0;    // ceil(k / group)
  std::size_t k_groups = 0;  // 4-input groups, rounded up to whole words
  // panels() · k_groups · 32 · field_bits() / 4 bytes, from a 64-byte
  // boundary, so no 32-byte load of them straddles two cache lines
  // (core/aligned_allocator.hpp).
  std::vector<std::uint8_t, AlignedAllocator<std::uint8_t, 64>> codes;
  // Per panel, group and the panel's 16 outputs ([panel][group][16]): t and
  // o; per panel and output ([panel][16]): Z. Zero past n.
  std::vector<float> steps, offsets, zero_terms;

  std::size_t panels() const {
    return (n + lowbit_int_panel_columns - 1) / lowbit_int_panel_columns;
  }
  int field_bits() const { return bits == 2 ? 2 : 4; }
  // k-groups per 32-byte word: 1 with 4-bit fields, 2 with 2-bit ones.
  std::size_t k_groups_per_word() const { return field_bits() == 2 ? 2 : 1; }
  std::size_t panel_bytes() const { return k_groups / k_groups_per_word() * 32; }
  // Row stride, in bytes, that activation rows must have (at least).
  std::size_t padded_k() const { return k_groups * 4; }
};

// codes [n, k] (row stride ld_codes), one unsigned field u < 2^bits per
// byte; steps and offsets [n, groups] (row-major), w = u · step + offset.
// bits 2..4; group as above. Throws Error otherwise.
LowBitIntPanels pack_lowbit_int_panels(std::size_t n, std::size_t k, int bits, std::size_t group,
                                       const std::uint8_t* codes, std::size_t ld_codes,
                                       const float* steps, const float* offsets);

// The caller's quantized rows: a [m, lda >= b.padded_k()] with codes 0..127
// and zeros past k; per row d_r (steps) and z_r (zero_points); group sums
// A [m, b.groups] (row-major).
struct U7Rows {
  std::size_t m = 0;
  const std::uint8_t* a = nullptr;
  std::size_t lda = 0;
  const float* steps = nullptr;
  const std::int32_t* zero_points = nullptr;
  const std::int32_t* group_sums = nullptr;
};

// C [m, b.n] (row stride ldc) = the sums above plus bias [b.n] (or none when
// bias is null). Single-threaded; throws Error when this CPU cannot run
// `isa` (family int8_gemm) or a row stride is too short.
void lowbit_int_gemm(Isa isa, const U7Rows& x, const LowBitIntPanels& b, const float* bias,
                     float* c, std::size_t ldc);
// The same for the outputs of panels [panel_begin, panel_end) only (c and
// bias still indexed from output 0), so that a few rows (batch 1) can be
// split across threads by outputs; each output is computed exactly as
// lowbit_int_gemm computes it, so the split never changes a bit.
void lowbit_int_gemm_panels(Isa isa, const U7Rows& x, const LowBitIntPanels& b,
                            std::size_t panel_begin, std::size_t panel_end, const float* bias,
                            float* c, std::size_t ldc);

// The formula in double, on the unpacked codes: what the kernels are tested against.
void lowbit_int_gemm_reference(const U7Rows& x, std::size_t n, std::size_t k, std::size_t group,
                               const std::uint8_t* codes, std::size_t ld_codes, const float* steps,
                               const float* offsets, const float* bias, double* c, std::size_t ldc);

}  // namespace tinyq
