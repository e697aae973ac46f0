// gemm's public face: holds the instruction-set paths, decides whether a
// product is big enough to be worth threads, and wraps Tensors. The speed
// lives in gemm_blocked.cpp and the kernels; gemm_reference is the plain
// definition every path is tested against.
#include "core/kernels/gemm.hpp"

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/gemm_blocked.hpp"
#include "core/kernels/gemm_row_kernels.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Below this many multiply-adds (m·n·k) a product runs on the calling
// thread: handing half of it to a worker costs more than it saves. Measured
// on the 2-core development machine (AVX-512): 64×128×128 (1 Mi) gained
// nothing from a second thread, 64×256×128 (2 Mi) ran 1.5× faster.
constexpr std::size_t parallel_min_work = std::size_t{1} << 20;

// Products with at most this many rows skip packing and use the row
// kernels: op(B) is then read once per row and nothing is copied. Measured
// at k = 784, n = 256: the row path wins up to 3 rows and ties at 4, where
// reading op(B) once per row starts to cost more than packing it once.
constexpr std::size_t row_kernel_max_rows = 3;

// gemm's paths, indexed by Isa: the tile kernel of packed products and the
// row kernels of products with few rows.
struct GemmPath {
  MicroKernel tiles;
  RowKernel rows;
};

const IsaTable<GemmPath>& paths() {
  static const IsaTable<GemmPath> table({micro_kernel_generic(), row_kernel_generic()},
                                        {micro_kernel_avx2(), row_kernel_avx2()},
                                        {micro_kernel_avx512(), row_kernel_avx512()});
  return table;
}

void scale(std::size_t m, std::size_t n, float beta, float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

// Least multiply-adds per thread worth splitting a few-row product for.
// The row kernels stream op(B) once, about 40,000 multiply-adds a
// microsecond on a core (one row of 784 × 256 in 5 µs, W in L2; Intel Xeon,
// AVX-512), and a hand-over costs about a microsecond: from here on a split
// starts to pay. At batch 1 of the 784-256-128-10 MLP the first layer
// (200 Ki) is split, 5.1 -> 3.6 µs, and the second (32 Ki) is not.
constexpr std::size_t row_kernel_min_work_per_thread = 32768;

// C = op(A)·op(B) + beta·C one row of C at a time (few rows, see above),
// the columns split between the threads when there are enough of them:
// each element is the kernel's own dot product or column of sums whichever
// columns it is computed with, so the split never changes a bit. Chunks of
// 16 columns, so no two threads write one cache line of C.
void gemm_by_rows(const RowKernel& kernel, MatrixView a, MatrixView b, std::size_t m, std::size_t n,
                  std::size_t k, float beta, float* c, std::size_t ldc,
                  const FinishedBlock* finished) {
  const auto columns = [&](std::size_t j0, std::size_t j1) {
    thread_local std::vector<float> a_row;
    for (std::size_t i = 0; i < m; ++i) {
      float* c_row = c + i * ldc + j0;
      if (!b.transposed) {
        const float* a_start = a.transposed ? a.data + i : a.data + i * a.ld;
        kernel.axpy(k, a_start, a.transposed ? a.ld : 1, b.data + j0, b.ld, j1 - j0, c_row, beta);
      } else {
        const float* a_start = a.data + i * a.ld;
        if (a.transposed) {  // the dot kernel wants the row of op(A) contiguous
          a_row.resize(k);
          for (std::size_t p = 0; p < k; ++p) a_row[p] = a(i, p);
          a_start = a_row.data();
        }
        kernel.dot(k, a_start, b.data + j0 * b.ld, b.ld, j1 - j0, c_row, beta);
      }
      if (finished) (*finished)(i, 1, j0, j1 - j0);
    }
  };
  parallel_for_products(n, 16, m * n * k, row_kernel_min_work_per_thread, columns);
}

void check_inner(const char* what, std::size_t left, std::size_t right, const Tensor& a,
                 const Tensor& b) {
  if (left != right)
    throw Error(std::string(what) + ": inner dimensions differ, " + a.shape().to_string() +
                " and " + b.shape().to_string());
}

// Every public gemm: `finished` is the caller's epilogue or nullptr.
void gemm_with_epilogue(Isa isa, Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
                        std::size_t k, const float* a, std::size_t lda, const float* b,
                        std::size_t ldb, float beta, float* c, std::size_t ldc,
                        const FinishedBlock* finished) {
  require_supported(KernelFamily::gemm, isa);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    scale(m, n, beta, c, ldc);
    if (finished) (*finished)(0, m, 0, n);
    return;
  }
  const MatrixView op_a{a, lda, trans_a == Transpose::yes};
  const MatrixView op_b{b, ldb, trans_b == Transpose::yes};
  const GemmPath& path = paths()[isa];
  if (m <= row_kernel_max_rows) {
    gemm_by_rows(path.rows, op_a, op_b, m, n, k, beta, c, ldc, finished);
    return;
  }
  const bool parallel = num_threads() > 1 && m * n * k >= parallel_min_work;
  gemm_blocked(path.tiles, op_a, op_b, m, n, k, beta, c, ldc, parallel, InPlace::allowed, finished);
}

}  // namespace

void gemm_reference(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
                    std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                    float beta, float* c, std::size_t ldc) {
  const MatrixView op_a{a, lda, trans_a == Transpose::yes};
  const MatrixView op_b{b, ldb, trans_b == Transpose::yes};
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < k; ++p) sum += double(op_a(i, p)) * double(op_b(p, j));
      float& out = c[i * ldc + j];
      out = static_cast<float>(sum) + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc) {
  gemm(active_isa(KernelFamily::gemm), trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Isa isa, Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
          std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t ldb,
          float beta, float* c, std::size_t ldc) {
  gemm_with_epilogue(isa, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, nullptr);
}

void gemm(Isa isa, Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
          std::size_t k, const float* a, std::size_t lda, const float* b, std::size_t ldb,
          float beta, float* c, std::size_t ldc, FinishedBlock finished) {
  gemm_with_epilogue(isa, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, &finished);
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  matmul(a, b, out, [](std::size_t, std::size_t, std::size_t, std::size_t) {});
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out, FinishedBlock finished) {
  a.require_rank(2, "matmul");
  b.require_rank(2, "matmul");
  check_inner("matmul", a.dim(1), b.dim(0), a, b);
  const std::size_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  out.resize({m, n});
  gemm(active_isa(KernelFamily::gemm), Transpose::no, Transpose::no, m, n, k, a.data(), k, b.data(),
       n, 0.0f, out.data(), n, finished);
}

void matmul_transposed_b(const Tensor& a, const Tensor& b, Tensor& out) {
  matmul_transposed_b(a, b, out, [](std::size_t, std::size_t, std::size_t, std::size_t) {});
}

void matmul_transposed_b(const Tensor& a, const Tensor& b, Tensor& out, FinishedBlock finished) {
  a.require_rank(2, "matmul_transposed_b");
  b.require_rank(2, "matmul_transposed_b");
  check_inner("matmul_transposed_b", a.dim(1), b.dim(1), a, b);
  const std::size_t m = a.dim(0), k = a.dim(1), n = b.dim(0);
  out.resize({m, n});
  gemm(active_isa(KernelFamily::gemm), Transpose::no, Transpose::yes, m, n, k, a.data(), k,
       b.data(), k, 0.0f, out.data(), n, finished);
}

void matmul_transposed_a(const Tensor& a, const Tensor& b, Tensor& out) {
  matmul_transposed_a(a, b, out, [](std::size_t, std::size_t, std::size_t, std::size_t) {});
}

void matmul_transposed_a(const Tensor& a, const Tensor& b, Tensor& out, FinishedBlock finished) {
  a.require_rank(2, "matmul_transposed_a");
  b.require_rank(2, "matmul_transposed_a");
  check_inner("matmul_transposed_a", a.dim(0), b.dim(0), a, b);
  const std::size_t k = a.dim(0), m = a.dim(1), n = b.dim(1);
  out.resize({m, n});
  gemm(active_isa(KernelFamily::gemm), Transpose::yes, Transpose::no, m, n, k, a.data(), m,
       b.data(), n, 0.0f, out.data(), n, finished);
}

}  // namespace tinyq
