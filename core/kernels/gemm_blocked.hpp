// The cache-blocked, packed, multi-threaded gemm driver (see gemm_blocked.cpp).
#pragma once

#include <cstddef>

#include "core/kernels/gemm.hpp"
#include "core/kernels/gemm_kernels.hpp"
#include "core/kernels/gemm_pack.hpp"

namespace tinyq {

// Whether operands may be read in place rather than packed. The result has
// the same bits either way; `never` exists so tests can check that.
enum class InPlace : bool { never = false, allowed = true };

// C[m×n] = a[m×k] · b[k×n] + beta · C, with k > 0, using `kernel` for the
// tiles, on the thread pool when `parallel` is set; then `*finished` (when
// given) on each block of C, as gemm.hpp describes.
void gemm_blocked(const MicroKernel& kernel, MatrixView a, MatrixView b, std::size_t m,
                  std::size_t n, std::size_t k, float beta, float* c, std::size_t ldc,
                  bool parallel, InPlace in_place = InPlace::allowed,
                  const FinishedBlock* finished = nullptr);

}  // namespace tinyq
