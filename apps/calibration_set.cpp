#include "apps/calibration_set.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"

namespace tinyq {

Tensor calibration_sample(const Tensor& images, std::size_t count, std::uint64_t seed) {
  const std::size_t n = images.rank() == 2 ? images.dim(0) : 0;
  if (count < 1 || count > n)
    throw Error("calibration: asked for " + std::to_string(count) +
                " images, expected 1 to the training set's " + std::to_string(n));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  for (std::size_t i = 0; i < count; ++i)  // the first `count` steps of Fisher-Yates
    std::swap(order[i], order[i + static_cast<std::size_t>(rng.below(n - i))]);
  const std::size_t width = images.dim(1);
  Tensor sample(Shape{count, width});
  for (std::size_t i = 0; i < count; ++i)
    std::copy_n(images.row(order[i]).begin(), width, sample.row(i).begin());
  return sample;
}

}  // namespace tinyq
