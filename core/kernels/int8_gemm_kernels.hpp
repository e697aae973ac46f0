// The per-ISA kernels behind int8_gemm (internal to core).
//
// A kernel computes C for `rows` rows of a (rows <= its tile height) and one
// or more panels of b over k-groups [g_begin, g_end):
//
//   for each k-group g, for each row r:  broadcast a[r][4g..4g+3] (4 bytes)
//     acc[r][j] += Σ_{t<4} a[r][4g+t] · b_panel[g][j][t]     for the 16 j of the panel
//
// which is exactly one vpdpbusd per row and panel on AVX-512 VNNI. Only the
// first `cols` columns of the last panel are written (edge panels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/kernels/int8_gemm.hpp"

namespace tinyq {

// Rows of a (a[r * lda + p]) times `panels` consecutive panels starting at
// `b` (each panel_stride bytes apart), k-groups [g_begin, g_end); writes
// C[r][j] for j < cols (cols <= 16 · panels).
using Int8KernelFunction = void (*)(std::size_t rows, const std::uint8_t* a, std::size_t lda,
                                    const std::int8_t* b, std::size_t panel_stride,
                                    std::size_t g_begin, std::size_t g_end, std::int32_t* c,
                                    std::size_t ldc, std::size_t cols);

// `rows` rows of a (at most the tile height) times `panels` consecutive
// panels starting at `b` (each panel_stride bytes apart), over the listed
// k-groups only (groups[t] < k_groups, ascending): C[r][j] = Σ_t
// a[r][4g..4g+3] · b_panel[g][j] with g = groups[t], for j < cols (cols <= 16
// · panels). A k-group whose activations are zero in every one of the rows
// adds nothing to any of their sums, so run_tiles lists, for each tile of
// rows, the groups holding a nonzero byte: most pixels of an MNIST image are
// zero, so are the borders of most Fashion-MNIST images, and at batch 1 so
// are many codes after a ReLU.
using Int8ListedFunction = void (*)(std::size_t rows, const std::uint8_t* a, std::size_t lda,
                                    const std::uint32_t* groups, std::size_t count,
                                    const std::int8_t* b, std::size_t panel_stride,
                                    std::size_t panels, std::int32_t* c, std::size_t ldc,
                                    std::size_t cols);

// One panel for `rows` rows, each over a list of its own: row r (a + r ·
// lda) sums the k-groups groups[r · list_stride + t] for t < counts[r].
// Where a tile's rows are zero in different places (Fashion-MNIST's images
// are, for one) the lists of single rows skip far more than the list of
// their tile, and the panel (12.5 KB at k = 784) stays in L1 while the rows
// pass it: see list_block.
using Int8RowListsFunction = void (*)(std::size_t rows, const std::uint8_t* a, std::size_t lda,
                                      const std::uint32_t* groups, std::size_t list_stride,
                                      const std::size_t* counts, const std::int8_t* b,
                                      std::int32_t* c, std::size_t ldc, std::size_t cols);

// list_nonzero_words (below), or a path's faster version of it.
using ListNonzeroFunction = std::size_t (*)(const void* bytes, std::size_t row_bytes,
                                            std::size_t rows, std::size_t begin, std::size_t end,
                                            std::uint32_t* out);

struct Int8Tiles {
  std::size_t max_rows;    // tile height
  std::size_t max_panels;  // panels per call
  Int8KernelFunction run;
  Int8ListedFunction run_listed = nullptr;       // optional: listed k-groups only
  Int8RowListsFunction run_row_lists = nullptr;  // optional: a list per row
  ListNonzeroFunction list_nonzero = nullptr;    // the lists, with run_listed
  double row_list_cost = 1.0;                    // with run_row_lists: list_block's row_cost
  bool amx_blocks = false;  // whole 16-row blocks go to int8_gemm_amx when it is enabled
};

struct Int8Kernel {
  Int8Tiles u8;  // any a: int8_gemm
  Int8Tiles u7;  // a < 128 only: int8_gemm_u7 (the same tiles where that buys nothing)
  // float_range and affine_to_u8 (int8_gemm.hpp) on this path.
  void (*range)(const float* x, std::size_t n, float& lo, float& hi);
  std::uint32_t (*to_u8)(const float* x, std::size_t n, float scale, float shift, float top,
                         std::uint8_t* out);
};

// The plain versions of the row helpers, for paths without their own.
void float_range_generic(const float* x, std::size_t n, float& lo, float& hi);
std::uint32_t affine_to_u8_generic(const float* x, std::size_t n, float scale, float shift,
                                   float top, std::uint8_t* out);

// The lists of the sparse entries (Int8ListedFunction, int8_gemm_pairs' AVX2
// kernels): the indices w in [begin, end) of the 4-byte words bytes[4w ..
// 4w+3] that are not zero in every one of `rows` rows (row r starting at
// bytes + r · row_bytes), ascending, written to out[0 ..) (room for end -
// begin); returns how many. A k-group of u8 codes is one such word, and so is
// an input pair of activations widened to int16.
std::size_t list_nonzero_words(const void* bytes, std::size_t row_bytes, std::size_t rows,
                               std::size_t begin, std::size_t end, std::uint32_t* out);
// The same lists, 8 words at a time (int8_gemm_avx2.cpp; x86 with AVX2 only).
std::size_t list_nonzero_words_avx2(const void* bytes, std::size_t row_bytes, std::size_t rows,
                                    std::size_t begin, std::size_t end, std::uint32_t* out);
// And 16 at a time (int8_gemm_avx512.cpp; x86 with AVX-512 F and VL only).
std::size_t list_nonzero_words_avx512(const void* bytes, std::size_t row_bytes, std::size_t rows,
                                      std::size_t begin, std::size_t end, std::uint32_t* out);

// The lists of nonzero words of a block of m rows, for the sparse entries:
// each row's (row r's at rows + r · (end - begin), row_counts[r] long) and
// each tile's of tile_rows rows (tile t's at tiles + t · (end - begin)).
// by_rows: whether each row should walk its own list rather than its tile's.
// A row's list is never longer than its tile's and often much shorter (a
// tile can skip a word only where all its rows are zero), but a row walking
// alone loads each weight for itself; row_cost is what one listed product
// costs that way, a tile's costing 1 (each kernel measured its own). The
// rows walk alone when Σ row_counts · row_cost < Σ tile_counts · tile
// height. One row (m = 1) is its own tile: only the tile list is made.
struct BlockLists {
  std::vector<std::uint32_t> rows, tiles;
  std::vector<std::size_t> row_counts, tile_counts;
  bool by_rows = false;
};
void list_block(ListNonzeroFunction list, const void* bytes, std::size_t row_bytes, std::size_t m,
                std::size_t tile_rows, std::size_t begin, std::size_t end, double row_cost,
                BlockLists& lists);

// The panels holding outputs [j_begin, j_end), for the entry points that
// take a column range (int8_gemm_pairs, int8_gemm_narrow): j_begin must be a
// multiple of int8_panel_columns and j_end one or n. Throws Error naming `name`.
struct PanelRange {
  std::size_t begin, end;
};
PanelRange panels_of_columns(const char* name, std::size_t j_begin, std::size_t j_end,
                             std::size_t n);

// int8_gemm over the whole k for panels [panel_begin, panel_end) only (c
// points at column 0): int8_gemm_pairs's fallback on the generic and avx512 paths.
void int8_gemm_panel_range(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                           const Int8Panels& b, std::size_t panel_begin, std::size_t panel_end,
                           std::int32_t* c, std::size_t ldc);

// int8_gemm_pairs's AVX2 kernel (int8_gemm_pairs_avx2.cpp) on panels
// [panel_begin, panel_end) of b.pairs; a as int8_gemm_pairs takes it.
void int8_gemm_pairs_avx2(std::size_t m, const std::uint8_t* a, std::size_t lda,
                          const Int8PairPanels& b, std::size_t panel_begin, std::size_t panel_end,
                          std::int32_t* c, std::size_t ldc);

// C for m rows (a multiple of 16) times `panels` whole panels starting at b
// (panel_stride bytes apart), over k-groups [g_begin, g_end) (a multiple of
// 16 of them), in AMX tiles (int8_gemm_amx.cpp); adds to C when accumulate,
// else writes it. Only where int8_amx_enabled().
void int8_gemm_amx(std::size_t m, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                   std::size_t panel_stride, std::size_t panels, std::size_t g_begin,
                   std::size_t g_end, std::int32_t* c, std::size_t ldc, bool accumulate);

Int8Kernel int8_kernel_generic();
Int8Kernel int8_kernel_avx2();
Int8Kernel int8_kernel_avx512();

}  // namespace tinyq
