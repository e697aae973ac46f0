// The per-ISA kernels behind lowbit_int_gemm (internal to core).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/kernels/int8_gemm_kernels.hpp"
#include "core/kernels/lowbit_int_gemm.hpp"

namespace tinyq {

// A kernel's tile: rows [row, row + its height) of x, one panel, summing the
// k-groups list[0 .. count) (ascending) of each group of inputs, then the
// float steps; writes C's outputs of that panel for those rows.
using LowBitTileFunction = void (*)(const U7Rows& x, std::size_t row, const std::uint32_t* list,
                                    std::size_t count, const LowBitIntPanels& b, std::size_t panel,
                                    const float* bias, float* c, std::size_t ldc);

// The walk both x86 kernels share: lists each row's and each tile's k-groups
// that hold a nonzero activation (list_block with `list` and `row_cost`),
// then, panel by panel (a panel's codes, ~12 KB at k = 784 and 4 bits, stay
// in L1 while the rows pass over them), runs tiles[height - 1] over each
// tile of rows, or tiles[0] over each row alone when that costs less. With
// pair_tiles (the same for panels `panel` and `panel + 1` together; empty
// when the path has none) it walks two panels at a time, the last odd one
// alone.
void run_lowbit_tiles(std::span<const LowBitTileFunction> tiles,
                      std::span<const LowBitTileFunction> pair_tiles, ListNonzeroFunction list,
                      double row_cost, const U7Rows& x, const LowBitIntPanels& b,
                      std::size_t panel_begin, std::size_t panel_end, const float* bias, float* c,
                      std::size_t ldc);

// C rows [0, x.m) of panels [panel_begin, panel_end): as lowbit_int_gemm_panels.
using LowBitIntKernel = void (*)(const U7Rows& x, const LowBitIntPanels& b, std::size_t panel_begin,
                                 std::size_t panel_end, const float* bias, float* c,
                                 std::size_t ldc);

void lowbit_int_gemm_generic(const U7Rows& x, const LowBitIntPanels& b, std::size_t panel_begin,
                             std::size_t panel_end, const float* bias, float* c, std::size_t ldc);
// The avx2 and avx512 kernels, or the generic one where the compiler cannot
// build them.
LowBitIntKernel lowbit_int_kernel_avx2();
LowBitIntKernel lowbit_int_kernel_avx512();

}  // namespace tinyq
