// Integer matrix products for quantized inference: unsigned 8-bit rows times
// signed 8-bit rows, summed exactly in 32-bit integers.
//
//   C[r][j] = Σ_{p ∈ [k_begin, k_end)} a[r][p] · b[j][p]      a u8, b s8, C i32
//
// b is the weight matrix [n, k] (one row per output), packed once into the
// order the kernels read (Int8Panels). a holds the activations, one row per
// sample, quantized by the caller. Core knows nothing of scales or zero
// points: turning C back into real numbers is the caller's business.
//
// Exactness: |a·b| <= 255 · 128, so a sum of k products fits in int32 for
// k < 65,793; pack_int8_panels refuses longer rows. Every path (generic,
// AVX2, AVX-512 VNNI) returns the same integers.
//
// The paths: generic (plain C++), avx2 (vpmaddwd on widened bytes, or
// vpmaddubsw when every a < 128: int8_gemm_u7), avx512 (vpdpbusd, so it also
// needs AVX-512 VNNI); which one runs is active_isa(KernelFamily::int8_gemm),
// see core/kernels/isa.hpp.
//
// Files: int8_gemm.cpp (packing, path table, reference), int8_gemm_generic.cpp,
// int8_gemm_avx2.cpp, int8_gemm_avx512.cpp, int8_gemm_amx.cpp (the kernels, see
// int8_gemm_kernels.hpp for the layout they share); int8_gemm_pairs.cpp and
// int8_gemm_pairs_avx2.cpp (int8_gemm_pairs: weights packed in input pairs).
//
// On AVX2 each row, or each tile of rows, sums only over the k-groups (u7,
// narrow) or input pairs (pairs) of a that hold a nonzero byte in it: zeros
// add nothing, so the integers are the same, and an image's pixels and the
// codes after a ReLU are often zero (int8_gemm_kernels.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/aligned_allocator.hpp"
#include "core/kernels/isa.hpp"

namespace tinyq {

// Columns per panel and k values per group in the packed layout.
inline constexpr std::size_t int8_panel_columns = 16;
inline constexpr std::size_t int8_k_group = 4;

// b [n, k] s8 in kernel order. Panel P holds outputs 16P..16P+15; inside it,
// k-group g (inputs 4g..4g+3) is 64 bytes: output 0's four weights, then
// output 1's, … (what one vpdpbusd multiplies by a broadcast of four
// activations). Missing outputs and inputs past k are zero.
struct Int8Panels {
  std::size_t n = 0;         // outputs (rows of b)
  std::size_t k = 0;         // inputs (columns of b)
  std::size_t k_groups = 0;  // ceil(k / 4)
  // panels() · k_groups · 64 bytes, from a 64-byte boundary (AMX reads
  // them a k-group, one cache line, per tile row).
  std::vector<std::int8_t, AlignedAllocator<std::int8_t, 64>> data;
  std::int32_t max_abs = 128;  // bounds |b|: pack_int8_panels finds the largest (int8_gemm_narrow)

  std::size_t panels() const { return (n + int8_panel_columns - 1) / int8_panel_columns; }
  // Row stride, in bytes, that activation buffers must have (at least).
  std::size_t padded_k() const { return k_groups * int8_k_group; }
};

// AMX-INT8 (int8_gemm_amx.cpp): where the CPU has it and the operating
// system lets the process use it, the avx512 path hands every whole 16 rows
// × whole panels × whole 16 k-groups of a product to the tile registers,
// with the same integers as its VNNI kernels. Enabled by default where
// available, unless the environment variable TINYQ_AMX is "0".
bool int8_amx_available();
bool int8_amx_enabled();
// Turns it on (where available) or off for the process; returns the old state.
bool set_int8_amx_enabled(bool enabled);
// Whether `isa`'s int8 products use the tiles: the avx512 path, with AMX enabled.
bool int8_uses_amx(Isa isa);
// The row stride, in bytes, for activation buffers whose rows hold
// `padded_k` bytes (Int8Panels::padded_k): padded_k itself, or the next
// multiple of 64 where `isa` uses the tiles, whose row loads want each row
// to start a cache line (in a buffer that starts one, AlignedAllocator).
std::size_t int8_row_stride(Isa isa, std::size_t padded_k);

// Packs b [n, k] (row-major, row stride ldb). Throws Error if k >= 65,793.
Int8Panels pack_int8_panels(std::size_t n, std::size_t k, const std::int8_t* b, std::size_t ldb);

// C[r][j] (r < m, j < b.n, row stride ldc) = Σ_{p=k_begin}^{k_end-1} a[r·lda + p] · b[j][p].
// k_begin and k_end must be multiples of 4, except k_end = b.k. Rows of a
// must be readable up to b.padded_k() and hold zeros past b.k. Single-threaded; callers split rows.
// Throws Error when this CPU cannot run `isa` (supported(KernelFamily::int8_gemm, isa)).
void int8_gemm(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda, const Int8Panels& b,
               std::size_t k_begin, std::size_t k_end, std::int32_t* c, std::size_t ldc);

// int8_gemm for 7-bit activations: the caller promises every a in the k
// range is below 128 (what dynamic int8 quantization produces). Then the
// AVX2 path may add two u8·s8 products in a saturating int16 (vpmaddubsw:
// 2 · 127 · 128 = 32,512 < 32,767, so it never saturates) on the bytes as
// stored, with no widening: about 1.9x int8_gemm's rate there. The same
// exact integers as int8_gemm; with an a >= 128 the AVX2 sums may be wrong
// (saturated), never undefined behaviour.
void int8_gemm_u7(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                  const Int8Panels& b, std::size_t k_begin, std::size_t k_end, std::int32_t* c,
                  std::size_t ldc);

// int8_gemm for operands narrower than 8 bits: the caller promises every a
// is at most a_max, and b.max_abs bounds the weights. When one pair sum of
// vpmaddubsw (u8 · s8 + u8 · s8, saturated to int16) surely fits,
// 2 · a_max · b.max_abs <= 32,767 (int8_pair_sums_fit_int16), the AVX2 path
// runs int8_gemm_u7's kernel on the bytes as stored, with no widening: for
// 7-bit activations (int8_gemm_u7) and for 7-bit weights, |b| <= 64, with
// any u8 activation (static int8 with --bits 7). Otherwise it is int8_gemm.
// Outputs [j_begin, j_end) only, as int8_gemm_pairs takes them, over the
// whole k. The same exact integers as int8_gemm on every path; with an a
// above a_max the AVX2 sums may be wrong (saturated), never undefined
// behaviour.
//
// Adding several pair sums in int16 before widening (possible when they are
// smaller still, e.g. 6-bit weights: one vpmaddwd per two vpmaddubsw) was
// tried and not kept: on Zen 3 it measured no faster at 4 rows (about 97 G
// products/s on one core either way, i.e. 32 a cycle: one vpmaddubsw per
// cycle looks like the bound, and that count does not change).
void int8_gemm_narrow(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                      std::int32_t a_max, const Int8Panels& b, std::size_t j_begin,
                      std::size_t j_end, std::int32_t* c, std::size_t ldc);
// 2 · a_max · b_max_abs <= 32,767: (255, 64) and (127, 128) fit, (255, 65) does not.
bool int8_pair_sums_fit_int16(std::int32_t a_max, std::int32_t b_max_abs);

// int8_gemm for static int8 inference (any u8 activation, weights fixed when
// a model loads), with the weights also packed in pairs of inputs.
//
// AVX2 has no exact u8 × s8 byte multiply (vpmaddubsw saturates at
// 2 · 255 · 128 > 32,767), so the products are taken in int16 by vpmaddwd.
// int8_gemm's AVX2 kernel widens both operands inside its loop and needs
// horizontal adds at the end; here each row of a is widened once per call
// (O(k) per row against O(k · n) products) and the weights are packed so
// that for outputs j..j+7 and inputs 2p, 2p+1 the 16 bytes
// b[j][2p], b[j][2p+1], b[j+1][2p], … widen (vpmovsxbw) to what one vpmaddwd
// multiplies by a broadcast of a[r][2p], a[r][2p+1]: 8 int32 lanes, one
// finished pair sum per output, so no horizontal add is ever needed.
// |255 · 128 · 2| fits int32 with room to spare, and the sums are exact for
// every k pack_int8_panels accepts. (Storing the pairs already widened to
// int16 measured no faster at 48 rows and slower at one: twice the bytes.)
//
// Memory: the pairs take 1 byte per weight and int8_gemm's panels are kept
// too (the generic and avx512 paths run int8_gemm on them), so 2 bytes per
// weight where the CPU has AVX2; model files are unchanged.
struct Int8PairPanels {
  Int8Panels bytes;                // int8_gemm's layout, for the other paths
  std::size_t k_pairs = 0;         // ceil(k / 2)
  std::vector<std::int8_t> pairs;  // panels() · k_pairs · 32 bytes; empty without AVX2

  std::size_t n() const { return bytes.n; }
  std::size_t k() const { return bytes.k; }
  std::size_t panels() const { return bytes.panels(); }
  std::size_t padded_k() const { return bytes.padded_k(); }
};

// Packs b [n, k] (row stride ldb) both ways. Throws Error if k >= 65,793.
Int8PairPanels pack_int8_pair_panels(std::size_t n, std::size_t k, const std::int8_t* b,
                                     std::size_t ldb);

// C[r][j] = Σ_{p<k} a[r·lda + p] · b[j][p] for r < m and j in [j_begin, j_end)
// (c points at column 0, row stride ldc; other columns are not touched).
// j_begin must be a multiple of int8_panel_columns, j_end one or n, so
// callers can split the outputs between threads; each C[r][j] is the same
// integer whatever the split, on every path. Rows of a must be readable up
// to b.padded_k() and hold zeros past k (int8_gemm's rule). Single-threaded.
// Throws Error on a bad column range or when this CPU cannot run `isa`.
void int8_gemm_pairs(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                     const Int8PairPanels& b, std::size_t j_begin, std::size_t j_end,
                     std::int32_t* c, std::size_t ldc);

// Helpers for quantizing activation rows (x[0..n) floats), vectorized on
// the avx2 and avx512 paths and bit-identical on every path:
// lo = min(0, min x), hi = max(0, max x) (NaNs are skipped).
void float_range(Isa isa, const float* x, std::size_t n, float& lo, float& hi);
// out[i] = clamp(x[i] · scale + shift, 0, top) rounded half up, where the
// product and the sum are rounded separately (never fused); NaN gives 0.
// top is a whole number from 1 to 255 (127 for int8_gemm_u7's activations).
// Returns Σ out[i] (which the caller would otherwise need a second pass for).
std::uint32_t affine_to_u8(Isa isa, const float* x, std::size_t n, float scale, float shift,
                           float top, std::uint8_t* out);
// The same over a row cut into runs of run_length (the last may be
// shorter): sums[g] = Σ out[i] over run g, for the ceil(n / run_length)
// runs (sums may be longer; throws Error when it is shorter).
// One call per row where a call per run cost as much again in checks as
// the codes of a 64-value run (quantize_row with 4-bit groups).
void affine_to_u8_runs(Isa isa, const float* x, std::size_t n, std::size_t run_length, float scale,
                       float shift, float top, std::uint8_t* out, std::span<std::int32_t> sums);

// Plain triple loop on unpacked b [n, k]: what every path is tested against.
void int8_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const std::uint8_t* a,
                         std::size_t lda, const std::int8_t* b, std::size_t ldb, std::int32_t* c,
                         std::size_t ldc);

}  // namespace tinyq
