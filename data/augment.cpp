#include "data/augment.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace tinyq {

RandomShift::RandomShift(std::size_t max_shift, std::uint64_t seed, float probability)
    : max_shift_(max_shift), probability_(probability), rng_(seed) {}

void RandomShift::apply(Tensor& images, std::size_t rows, std::size_t cols) {
  images.require_rank(2, "RandomShift");
  if (images.dim(1) != rows * cols)
    throw Error("RandomShift: images have " + std::to_string(images.dim(1)) +
                " values each, expected " + std::to_string(rows) + "x" + std::to_string(cols));
  if (max_shift_ == 0) return;
  scratch_.resize(rows * cols);
  const auto span = 2 * max_shift_ + 1;
  const auto shift = static_cast<std::ptrdiff_t>(max_shift_);
  const auto height = static_cast<std::ptrdiff_t>(rows), width = static_cast<std::ptrdiff_t>(cols);
  for (std::size_t i = 0; i < images.dim(0); ++i) {
    if (rng_.uniform() >= probability_) continue;
    const auto dy = static_cast<std::ptrdiff_t>(rng_.below(span)) - shift;
    const auto dx = static_cast<std::ptrdiff_t>(rng_.below(span)) - shift;
    float* image = images.row(i).data();
    std::copy(image, image + rows * cols, scratch_.begin());
    // out(r, c) = in(r - dy, c - dx), zero where that falls outside.
    for (std::ptrdiff_t r = 0; r < height; ++r) {
      float* out = image + r * width;
      const std::ptrdiff_t source_row = r - dy;
      if (source_row < 0 || source_row >= height) {
        std::fill(out, out + width, 0.0f);
        continue;
      }
      const float* in = scratch_.data() + source_row * width;
      for (std::ptrdiff_t c = 0; c < width; ++c) {
        const std::ptrdiff_t source_col = c - dx;
        out[c] = (source_col >= 0 && source_col < width) ? in[source_col] : 0.0f;
      }
    }
  }
}

}  // namespace tinyq
