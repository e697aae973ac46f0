// The register-tiled micro-kernels under gemm, one per instruction set.
//
// A micro-kernel computes one small MR×NR tile of C from a sliver of A and
// a sliver of B, keeping the whole tile in vector registers for the length
// of the k loop:
//
//              k →                         NR
//   A sliver  ┌───────┐        B sliver  ┌──────────┐  k
//   MR rows   │a a a a│  ×               │b b b b b │  ↓
//             └───────┘                  │b b b b b │
//                                        └──────────┘
//   for each p in 0..k:   tile[i][j] += a[p][i] · b[p][j]     (an outer product)
//
// The A sliver is "column by column": element (i, p) at a[p * a_stride + i],
// so one step of p reads MR consecutive floats (a packed panel has
// a_stride = MR). The B sliver is row by row: element (p, j) at
// b[p * b_stride + j], NR floats per step, all NR readable. Each step loads
// NR/width vectors of B, broadcasts each of the MR values of A, and does
// MR·NR/width fused multiply-adds: many FMAs per byte loaded, which is the
// whole point of tiling.
//
// A kernel may also offer `run_a_rows`, the same tile with A read in place
// from a row-major matrix: element (i, p) at a[i * a_stride + p], so no
// packed panel (and no transposing copy) is needed. Rows at or beyond `rows`
// are read from row 0 instead and never stored, so an edge tile reads
// nothing past the matrix. It does the FMAs of `run` in the same order: an
// element of C gets the same bits either way.
//
// At the end the tile is merged into C (row-major, row stride ldc), of which
// only the top-left rows×cols part is real (edge tiles):
//   C = tile                 if beta == 0 (C is not read: it may hold NaN)
//   C = fma(beta, C, tile)   otherwise, in every kernel and in the scalar
//                            edge path alike, so an element's bits do not
//                            depend on whether its tile was an edge tile.
#pragma once

#include <cstddef>

#include "core/kernels/gemm_pack.hpp"

namespace tinyq {

using MicroKernelFunction = void (*)(std::size_t k, const float* a, std::size_t a_stride,
                                     const float* b, std::size_t b_stride, float* c,
                                     std::size_t ldc, std::size_t rows, std::size_t cols,
                                     float beta);

// Merges a finished tile into C (see the rule above); the transposed merge
// stores tile element (i, j) at c[j * ldc + i], for products computed as
// their transpose (core/kernels/gemm_blocked.cpp).
using TileMergeFunction = void (*)(const float* tile, std::size_t nr, float* c, std::size_t ldc,
                                   std::size_t rows, std::size_t cols, float beta);

struct MicroKernel {
  std::size_t mr;  // tile rows
  std::size_t nr;  // tile columns
  MicroKernelFunction run;
  MicroKernelFunction run_a_rows;   // A read in place from its rows; nullptr: pack A
  TransposeCopyFunction transpose;  // for packing, see core/kernels/gemm_pack.hpp
  TileMergeFunction merge_transposed;
};

// The paths (core/kernels/gemm.cpp holds them in its IsaTable). Without
// x86 the avx2 and avx512 ones return the generic kernel.
MicroKernel micro_kernel_generic();
MicroKernel micro_kernel_avx2();
MicroKernel micro_kernel_avx512();

// Merges a finished tile (row stride nr) into the real rows×cols part of C,
// with the rule above. Used by every kernel for edge tiles.
void merge_tile(const float* tile, std::size_t nr, float* c, std::size_t ldc, std::size_t rows,
                std::size_t cols, float beta);
// The transposed merge: scalar, and AVX2 (in gemm_transpose_avx2.cpp).
// Both give the same bits.
void merge_tile_transposed(const float* tile, std::size_t nr, float* c, std::size_t ldc,
                           std::size_t rows, std::size_t cols, float beta);
void merge_tile_transposed_avx2(const float* tile, std::size_t nr, float* c, std::size_t ldc,
                                std::size_t rows, std::size_t cols, float beta);

}  // namespace tinyq
