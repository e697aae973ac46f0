// The cache-blocked, packed, multi-threaded gemm driver (see gemm_blocked.cpp).
#pragma once

#include <cstddef>

#include "core/kernels/gemm_kernels.hpp"
#include "core/kernels/gemm_pack.hpp"

namespace tinyq {

// C[m×n] = a[m×k] · b[k×n] + beta · C, with k > 0, using `kernel` for the
// tiles, on the thread pool when `parallel` is set.
void gemm_blocked(const MicroKernel& kernel, MatrixView a, MatrixView b, std::size_t m,
                  std::size_t n, std::size_t k, float beta, float* c, std::size_t ldc,
                  bool parallel);

}  // namespace tinyq
