// Float rows times signed 8-bit weight rows, summed in float: the product
// under weight-only quantization, where activations stay float and weights
// are widened to float inside the kernel's registers.
//
//   C[r][j] = Σ_{p ∈ [k_begin, k_end)} x[r][p] · float(b[j][p])      x f32, b s8, C f32
//
// b [n, k] is packed once (WidenPanels); the kernels never write the wide
// weights to memory, so the weights take a quarter of a float matrix's cache
// and memory traffic. Sums run over p in order, with fused multiply-adds on
// the avx2 and avx512 paths (so paths differ in the last bits; thread counts
// never change a result, each element being one kernel's work).
//
// Files: widen_gemm.cpp (packing, path table, generic kernel),
// widen_gemm_avx2.cpp, widen_gemm_avx512.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/kernels/isa.hpp"

namespace tinyq {

inline constexpr std::size_t widen_panel_columns = 16;

// Panel P holds outputs 16P..16P+15: for each input p, their 16 weights
// (16 bytes; missing outputs are zero).
struct WidenPanels {
  std::size_t n = 0, k = 0;
  std::vector<std::int8_t> data;  // panels() · k · 16
  std::size_t panels() const { return (n + widen_panel_columns - 1) / widen_panel_columns; }
};

WidenPanels pack_widen_panels(std::size_t n, std::size_t k, const std::int8_t* b, std::size_t ldb);

// C (m rows of b.n, row stride ldc) = the sums above for x (row stride ldx).
// Requires k_begin <= k_end <= b.k; throws Error when this CPU cannot run
// `isa` (layers run active_isa(KernelFamily::widen_gemm)). Single-threaded.
void widen_gemm(Isa isa, std::size_t m, const float* x, std::size_t ldx, const WidenPanels& b,
                std::size_t k_begin, std::size_t k_end, float* c, std::size_t ldc);
// The same for the outputs of panels [panel_begin, panel_end) only (c still
// indexed from output 0), so that a few rows (batch-1 inference) can be
// split across threads by outputs. Every output is summed exactly as
// widen_gemm sums it, so the split never changes a bit. Throws Error when
// the panels are not within b's.
void widen_gemm_panels(Isa isa, std::size_t m, const float* x, std::size_t ldx,
                       const WidenPanels& b, std::size_t k_begin, std::size_t k_end,
                       std::size_t panel_begin, std::size_t panel_end, float* c, std::size_t ldc);

// The kernels (internal): rows × panels tiles, as in int8_gemm_kernels.hpp.
using WidenKernelFunction = void (*)(std::size_t rows, const float* x, std::size_t ldx,
                                     const std::int8_t* b, std::size_t panel_stride,
                                     std::size_t panels, std::size_t k_begin, std::size_t k_end,
                                     float* c, std::size_t ldc, std::size_t cols);
// The same on panels widened to float beforehand (panel_stride in floats),
// over p in [0, length). x is the tile's first row at its first input:
// element (r, p) at x[p * wide_rows + r] when the path packs x
// (wide_x_packed), else at x[r * ldx + p]. accumulate: add to C instead of
// overwriting it.
using WideKernelFunction = void (*)(std::size_t rows, const float* x, std::size_t ldx,
                                    const float* b, std::size_t panel_stride, std::size_t panels,
                                    std::size_t length, float* c, std::size_t ldc, std::size_t cols,
                                    bool accumulate);
// The packed x the wide kernels read (internal; widen_gemm and
// lowbit_gemm): columns [k_begin, k_begin + length) of the m rows of x, in
// tiles of tile_rows rows side by side, element (r, p) of tile t at
// out[(t · length + p) · tile_rows + r % tile_rows]; rows past m in the last
// tile are zero. Written row by row, so x is read as one sequential stream
// (what the hardware prefetcher follows best).
void pack_rows_side_by_side(std::size_t m, const float* x, std::size_t ldx, std::size_t k_begin,
                            std::size_t length, std::size_t tile_rows, std::vector<float>& out);

struct WidenKernel {
  std::size_t max_rows;
  std::size_t max_panels;  // for tiles of at most max_rows / 3 rows; 2 otherwise
  WidenKernelFunction run;
  WideKernelFunction run_wide = nullptr;  // if the path has one, with tiles of
  std::size_t wide_rows = 0;              // at most this many rows
  // Whether run_wide reads x packed (pack_rows_side_by_side) or in place.
  bool wide_x_packed = true;
};
WidenKernel widen_kernel_generic();
WidenKernel widen_kernel_avx2();
WidenKernel widen_kernel_avx512();

}  // namespace tinyq
