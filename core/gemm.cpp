#include "core/gemm.hpp"

#include <string>

#include "core/error.hpp"

namespace tinyq {

namespace {

float element(const float* p, std::size_t ld, Transpose trans, std::size_t row, std::size_t col) {
  return trans == Transpose::yes ? p[col * ld + row] : p[row * ld + col];
}

void check_inner(const char* what, std::size_t left, std::size_t right, const Tensor& a,
                 const Tensor& b) {
  if (left != right)
    throw Error(std::string(what) + ": inner dimensions differ, " + a.shape().to_string() +
                " and " + b.shape().to_string());
}

}  // namespace

void gemm_reference(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
                    std::size_t k, const float* a, std::size_t lda, const float* b,
                    std::size_t ldb, float beta, float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < k; ++p)
        sum += double(element(a, lda, trans_a, i, p)) * double(element(b, ldb, trans_b, p, j));
      float& out = c[i * ldc + j];
      out = static_cast<float>(sum) + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

// A straightforward cache-aware version: for each output row, stream rows of
// op(B) and accumulate with a scalar of op(A) (the "i-p-j" order), so the
// innermost loop runs over contiguous memory and the compiler vectorizes it.
// Bᵀ is handled as dot products of contiguous rows.
void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    float* c_row = c + i * ldc;
    if (beta == 0.0f) {
      for (std::size_t j = 0; j < n; ++j) c_row[j] = 0.0f;
    } else if (beta != 1.0f) {
      for (std::size_t j = 0; j < n; ++j) c_row[j] *= beta;
    }
    if (trans_b == Transpose::yes) {
      for (std::size_t j = 0; j < n; ++j) {
        const float* b_row = b + j * ldb;
        float sum = 0.0f;
        for (std::size_t p = 0; p < k; ++p) sum += element(a, lda, trans_a, i, p) * b_row[p];
        c_row[j] += sum;
      }
    } else {
      for (std::size_t p = 0; p < k; ++p) {
        const float a_ip = element(a, lda, trans_a, i, p);
        const float* b_row = b + p * ldb;
        for (std::size_t j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
      }
    }
  }
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  a.require_rank(2, "matmul");
  b.require_rank(2, "matmul");
  check_inner("matmul", a.dim(1), b.dim(0), a, b);
  const std::size_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  out.resize({m, n});
  gemm(Transpose::no, Transpose::no, m, n, k, a.data(), k, b.data(), n, 0.0f, out.data(), n);
}

void matmul_transposed_b(const Tensor& a, const Tensor& b, Tensor& out) {
  a.require_rank(2, "matmul_transposed_b");
  b.require_rank(2, "matmul_transposed_b");
  check_inner("matmul_transposed_b", a.dim(1), b.dim(1), a, b);
  const std::size_t m = a.dim(0), k = a.dim(1), n = b.dim(0);
  out.resize({m, n});
  gemm(Transpose::no, Transpose::yes, m, n, k, a.data(), k, b.data(), k, 0.0f, out.data(), n);
}

void matmul_transposed_a(const Tensor& a, const Tensor& b, Tensor& out) {
  a.require_rank(2, "matmul_transposed_a");
  b.require_rank(2, "matmul_transposed_a");
  check_inner("matmul_transposed_a", a.dim(0), b.dim(0), a, b);
  const std::size_t k = a.dim(0), m = a.dim(1), n = b.dim(1);
  out.resize({m, n});
  gemm(Transpose::yes, Transpose::no, m, n, k, a.data(), m, b.data(), n, 0.0f, out.data(), n);
}

}  // namespace tinyq
