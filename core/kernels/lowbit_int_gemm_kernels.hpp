// The per-ISA kernels behind lowbit_int_gemm (internal to core).
#pragma once

#include <cstddef>

#include "core/kernels/lowbit_int_gemm.hpp"

namespace tinyq {

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
