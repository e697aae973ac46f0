// Kernels for products with very few rows (m = 1, 2, 3: one-sample
// inference), where packing would cost more than the product itself.
//
// With one row of A, each element of C is a plain dot product of that row
// with a column of op(B), and op(B) is read exactly once, straight from the
// caller's matrix. Two shapes, depending on how op(B) is stored:
//
//   dot:   op(B) = Bᵀ, B rows contiguous in k      c[j] = Σ_p a[p] · b[j·ldb + p]
//          (Dense forward, y = W·x: each output is a dot of x with a row of W)
//   axpy:  op(B) = B, rows contiguous in n          c[j] = Σ_p a[p·a_stride] · b[p·ldb + j]
//          (C is a sum of rows of B scaled by the a values, vector by vector)
//
// Both merge into C with the rule of core/kernels/gemm_kernels.hpp (beta 0 writes,
// otherwise fma(beta, c, sum)).
#pragma once

#include <cstddef>

namespace tinyq {

using RowDotFunction = void (*)(std::size_t k, const float* a, const float* b, std::size_t ldb,
                                std::size_t n, float* c, float beta);
using RowAxpyFunction = void (*)(std::size_t k, const float* a, std::size_t a_stride,
                                 const float* b, std::size_t ldb, std::size_t n, float* c,
                                 float beta);

struct RowKernel {
  RowDotFunction dot;
  RowAxpyFunction axpy;
};

// The paths (core/kernels/gemm.cpp holds them in its IsaTable).
RowKernel row_kernel_generic();
RowKernel row_kernel_avx2();
RowKernel row_kernel_avx512();

}  // namespace tinyq
