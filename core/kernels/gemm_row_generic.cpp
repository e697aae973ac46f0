// Portable row kernels (see core/kernels/gemm_row_kernels.hpp): plain loops.
#include <algorithm>
#include <cmath>

#include "core/kernels/gemm_row_kernels.hpp"

namespace tinyq {

namespace {

float merge(float beta, float c, float sum) {
  return beta == 0.0f ? sum : std::fma(beta, c, sum);
}

void row_dot_generic(std::size_t k, const float* a, const float* b, std::size_t ldb, std::size_t n,
                     float* c, float beta) {
  for (std::size_t j = 0; j < n; ++j) {
    const float* b_row = b + j * ldb;
    float sum = 0.0f;
    for (std::size_t p = 0; p < k; ++p) sum += a[p] * b_row[p];
    c[j] = merge(beta, c[j], sum);
  }
}

void row_axpy_generic(std::size_t k, const float* a, std::size_t a_stride, const float* b,
                      std::size_t ldb, std::size_t n, float* c, float beta) {
  constexpr std::size_t block = 64;  // a stack block of sums the compiler can vectorize over
  for (std::size_t j0 = 0; j0 < n; j0 += block) {
    const std::size_t width = std::min(block, n - j0);
    float sum[block] = {};
    for (std::size_t p = 0; p < k; ++p) {
      const float a_p = a[p * a_stride];
      const float* b_row = b + p * ldb + j0;
      for (std::size_t j = 0; j < width; ++j) sum[j] += a_p * b_row[j];
    }
    for (std::size_t j = 0; j < width; ++j) c[j0 + j] = merge(beta, c[j0 + j], sum[j]);
  }
}

}  // namespace

RowKernel row_kernel_generic() {
  return {row_dot_generic, row_axpy_generic};
}

}  // namespace tinyq
