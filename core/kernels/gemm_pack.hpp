// Packing: copying a block of an operand into the exact order in which the
// micro-kernel will read it.
//
// The kernel (core/kernels/gemm_kernels.hpp) walks k one step at a time and wants,
// at each step, MR consecutive floats of A and NR consecutive floats of B.
// In the caller's matrices those values may sit a whole row apart (A not
// transposed: A(i, p) and A(i+1, p) are lda floats apart) or be scattered
// across rows (B transposed). Packing gathers them once into panels:
//
//   op(A) block, rows i0..i0+MR            A panel: for p = 0..kc: MR floats
//   ┌──────────────┐                        [a(0,0) a(1,0) … a(MR-1,0)]
//   │ row i0   →   │   ──pack──►            [a(0,1) a(1,1) … a(MR-1,1)] …
//   │ row i0+1 →   │
//   └──────────────┘
//
//   op(B) block, columns j0..j0+NR         B panel: for p = 0..kc: NR floats
//                                           [b(0,0) b(0,1) … b(0,NR-1)] …
//
// After packing, the kernel reads both panels strictly sequentially, which
// the hardware prefetchers follow perfectly and which touches the fewest
// cache lines and TLB pages. The copy costs O(rows·kc) and is paid back
// because each A panel meets many B panels and vice versa. Panels are
// zero-padded to the full MR or NR, so edge tiles run the same kernel and
// the padding lanes are simply not stored.
#pragma once

#include <cstddef>

namespace tinyq {

// op(X) of a row-major matrix X with row stride ld: X itself, or Xᵀ.
struct MatrixView {
  const float* data;
  std::size_t ld;
  bool transposed;

  float operator()(std::size_t row, std::size_t col) const {
    return transposed ? data[col * ld + row] : data[row * ld + col];
  }
};

// The transposing copy at the heart of packing: a rows×kc block whose
// element (r, p) is at src[r * src_stride + p] goes to dst[p * width + r],
// with zeros for rows <= r < width. The generic one moves a float at a time;
// the AVX2 and AVX-512 ones (core/kernels/gemm_transpose_avx2.cpp, _avx512.cpp)
// turn 8×8 and 16×16 blocks over in registers. All give the same bytes.
using TransposeCopyFunction = void (*)(const float* src, std::size_t src_stride, std::size_t rows,
                                       std::size_t kc, std::size_t width, float* dst);
void transpose_copy_generic(const float* src, std::size_t src_stride, std::size_t rows,
                            std::size_t kc, std::size_t width, float* dst);
void transpose_copy_avx2(const float* src, std::size_t src_stride, std::size_t rows, std::size_t kc,
                         std::size_t width, float* dst);
void transpose_copy_avx512(const float* src, std::size_t src_stride, std::size_t rows,
                           std::size_t kc, std::size_t width, float* dst);

// dst[p * mr + i] = a(i0 + i, p0 + p) for i < rows, 0 for rows <= i < mr; p < kc.
void pack_a_panel(MatrixView a, std::size_t i0, std::size_t rows, std::size_t p0, std::size_t kc,
                  std::size_t mr, TransposeCopyFunction transpose, float* dst);

// dst[p * nr + j] = b(p0 + p, j0 + j) for j < cols, 0 for cols <= j < nr; p < kc.
void pack_b_panel(MatrixView b, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t cols,
                  std::size_t nr, TransposeCopyFunction transpose, float* dst);

}  // namespace tinyq
