// The plain C++ int8 kernel: the packed layout read one byte at a time.
// Runs anywhere; the compiler may vectorize the loop over the 16 columns.
#include <algorithm>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

namespace tinyq {

namespace {

void kernel_generic(std::size_t rows, const std::uint8_t* a, std::size_t lda, const std::int8_t* b,
                    std::size_t, std::size_t g_begin, std::size_t g_end, std::int32_t* c,
                    std::size_t ldc, std::size_t cols) {
  constexpr std::size_t group_bytes = int8_panel_columns * int8_k_group;
  for (std::size_t r = 0; r < rows; ++r) {
    std::int32_t acc[int8_panel_columns] = {};
    for (std::size_t g = g_begin; g < g_end; ++g) {
      const std::uint8_t* x = a + r * lda + g * int8_k_group;
      const std::int8_t* w = b + g * group_bytes;
      for (std::size_t j = 0; j < int8_panel_columns; ++j)
        for (std::size_t t = 0; t < int8_k_group; ++t)
          acc[j] += std::int32_t{x[t]} * std::int32_t{w[j * int8_k_group + t]};
    }
    std::copy(acc, acc + std::min(cols, int8_panel_columns), c + r * ldc);
  }
}

}  // namespace

void float_range_generic(const float* x, std::size_t n, float& lo, float& hi) {
  // In locals: lo and hi might alias x, so a fold through the references
  // would store and reload them at every element.
  float low = 0.0f, high = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    low = x[i] < low ? x[i] : low;
    high = x[i] > high ? x[i] : high;
  }
  lo = low;
  hi = high;
}

std::uint32_t affine_to_u8_generic(const float* x, std::size_t n, float scale, float shift,
                                   float top, std::uint8_t* out) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float product = x[i] * scale;
    float v = product + shift;
    v = v > 0.0f ? v : 0.0f;
    v = v < top ? v : top;
    out[i] = static_cast<std::uint8_t>(static_cast<std::int32_t>(v + 0.5f));
    sum += out[i];
  }
  return sum;
}

Int8Kernel int8_kernel_generic() {
  const Int8Tiles tiles{4, 1, kernel_generic};
  return {tiles, tiles, float_range_generic, affine_to_u8_generic};
}

}  // namespace tinyq
