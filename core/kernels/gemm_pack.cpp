// Packing loops: a plain copy when the source is already in panel order,
// otherwise the transposing copy the kernel set provides.
#include "core/kernels/gemm_pack.hpp"

#include <algorithm>
#include <cstring>

namespace tinyq {

// Walking p outermost reads `rows` source lines side by side, each reused
// for 16 steps of p while it sits in L1, and writes dst strictly in order;
// the other loop order would revisit every dst line.
void transpose_copy_generic(const float* src, std::size_t src_stride, std::size_t rows,
                            std::size_t kc, std::size_t width, float* dst) {
  for (std::size_t p = 0; p < kc; ++p) {
    float* d = dst + p * width;
    for (std::size_t r = 0; r < rows; ++r) d[r] = src[r * src_stride + p];
    for (std::size_t r = rows; r < width; ++r) d[r] = 0.0f;
  }
}

namespace {

// pack_along for full panels of a width known at compile time: each step
// is a fixed-size copy the compiler inlines as a few vector moves. (The
// general loop's std::copy of 24 or 64 bytes became a memmove call per step
// of k: 6% of a training step, in the weight-gradient product.)
template <std::size_t width>
void pack_along_full(const float* src, std::size_t src_stride, std::size_t kc, float* dst) {
  for (std::size_t p = 0; p < kc; ++p)
    std::memcpy(dst + p * width, src + p * src_stride, width * sizeof(float));
}

// Copies a kc×cols block whose element (p, r) is at src[p * src_stride + r]
// (already in panel order) into dst[p * width + r], zero-padding r >= cols.
void pack_along(const float* src, std::size_t src_stride, std::size_t kc, std::size_t cols,
                std::size_t width, float* dst) {
  if (cols == width) {
    switch (width) {  // the panel widths of the tile kernels
      case 4:
        return pack_along_full<4>(src, src_stride, kc, dst);
      case 6:
        return pack_along_full<6>(src, src_stride, kc, dst);
      case 8:
        return pack_along_full<8>(src, src_stride, kc, dst);
      case 12:
        return pack_along_full<12>(src, src_stride, kc, dst);
      case 16:
        return pack_along_full<16>(src, src_stride, kc, dst);
      case 32:
        return pack_along_full<32>(src, src_stride, kc, dst);
      default:
        break;
    }
  }
  for (std::size_t p = 0; p < kc; ++p) {
    const float* s = src + p * src_stride;
    float* d = dst + p * width;
    std::copy(s, s + cols, d);
    std::fill(d + cols, d + width, 0.0f);
  }
}

}  // namespace

void pack_a_panel(MatrixView a, std::size_t i0, std::size_t rows, std::size_t p0, std::size_t kc,
                  std::size_t mr, TransposeCopyFunction transpose, float* dst) {
  if (a.transposed)  // a(i, p) = data[p * ld + i]: each step of p is contiguous
    pack_along(a.data + p0 * a.ld + i0, a.ld, kc, rows, mr, dst);
  else  // a(i, p) = data[i * ld + p]: each row i is contiguous in p
    transpose(a.data + i0 * a.ld + p0, a.ld, rows, kc, mr, dst);
}

void pack_b_panel(MatrixView b, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t cols,
                  std::size_t nr, TransposeCopyFunction transpose, float* dst) {
  if (b.transposed)  // b(p, j) = data[j * ld + p]: each column j is contiguous in p
    transpose(b.data + j0 * b.ld + p0, b.ld, cols, kc, nr, dst);
  else  // b(p, j) = data[p * ld + j]: each step of p is contiguous
    pack_along(b.data + p0 * b.ld + j0, b.ld, kc, cols, nr, dst);
}

}  // namespace tinyq
