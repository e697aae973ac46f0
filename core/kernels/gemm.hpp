// Matrix products, the one numeric kernel a dense layer needs.
//
// Everything is row-major. For Dense with input X [batch, in], weights
// W [out, in] and upstream gradient G [batch, out]:
//
//   forward      Y  = X · Wᵀ      (matmul_transposed_b)
//   backward     dX = G · W       (matmul)
//                dW = Gᵀ · X      (matmul_transposed_a)
//
// `gemm` is the general entry (BLAS-style, with leading dimensions) and is
// where the speed lives; `gemm_reference` is the plain triple loop every fast
// path is tested against. The Tensor wrappers check shapes at the API edge.
//
// How gemm is built (one file each):
//   core/kernels/gemm.cpp                   this API: the path table, thresholds, wrappers
//   core/kernels/gemm_blocked.cpp           cache blocking and threading around the kernel
//   core/kernels/gemm_pack.cpp              packing operands into kernel-order panels
//   core/kernels/gemm_kernel_*.cpp          register-tiled micro-kernels, one per ISA
//   core/kernels/gemm_transpose_*.cpp       the transposing copy of packing, vectorized
//                                           (AVX2: also the transposed merge of swapped products)
//   core/kernels/gemm_row_*.cpp             products of 1-3 rows (one-sample inference)
// Big products run on the thread pool (core/thread_pool.hpp). Each element
// of C is computed by one thread in a fixed order, so the result is the same
// to the last bit for any thread count.
#pragma once

#include <cstddef>

#include "core/function_ref.hpp"
#include "core/kernels/isa.hpp"
#include "core/tensor.hpp"

namespace tinyq {

enum class Transpose : bool { no = false, yes = true };

// C[m×n] = op(A)[m×k] · op(B)[k×n] + beta · C
// op(A) is A (stored m×k, row stride lda) or Aᵀ (A stored k×m); likewise B.
// beta = 0 overwrites C (which may then hold garbage, even NaN).
void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc);

// The definition, as a triple loop with a double accumulator: slow and obviously right.
void gemm_reference(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
                    std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                    float beta, float* c, std::size_t ldc);

// The same on the instruction-set path `isa` (the one above runs
// active_isa(KernelFamily::gemm), see core/kernels/isa.hpp). Throws Error
// when this CPU cannot run `isa`. Results can differ in the last bits
// between paths (different tiles, fused vs separate multiply-add), but never
// between thread counts on one path.
void gemm(Isa isa, Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
          std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t ldb,
          float beta, float* c, std::size_t ldc);

// An epilogue: what a caller does to each block of C once the product is
// done with it. gemm calls it once per block, for disjoint blocks covering
// C, as soon as the block's values are final (every k summed, beta
// applied), on the thread that computed them, while they are still in that
// core's cache: C rows [row, row + rows) × columns [col, col + cols). What
// follows a product, a bias and an activation after a layer's forward or
// an optimizer's update of the weights after their gradient, then needs no
// pass of its own over C, no second trip through memory and no extra wait
// for the threads. The blocks are a few rows of C (a tile's height) by up
// to a few hundred columns; their number and shape depend on the product's
// shape and path, never on the values. Blocks may be reported by several
// threads at once.
using FinishedBlock =
    FunctionRef<void(std::size_t row, std::size_t rows, std::size_t col, std::size_t cols)>;

// gemm(isa, ...) that calls `finished` on each block of C (see above).
void gemm(Isa isa, Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
          std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t ldb,
          float beta, float* c, std::size_t ldc, FinishedBlock finished);

// out = a · b          a [m, k], b [k, n]
void matmul(const Tensor& a, const Tensor& b, Tensor& out);
void matmul(const Tensor& a, const Tensor& b, Tensor& out, FinishedBlock finished);
// out = a · bᵀ         a [m, k], b [n, k]
void matmul_transposed_b(const Tensor& a, const Tensor& b, Tensor& out);
void matmul_transposed_b(const Tensor& a, const Tensor& b, Tensor& out, FinishedBlock finished);
// out = aᵀ · b         a [k, m], b [k, n]
void matmul_transposed_a(const Tensor& a, const Tensor& b, Tensor& out);
void matmul_transposed_a(const Tensor& a, const Tensor& b, Tensor& out, FinishedBlock finished);

}  // namespace tinyq
