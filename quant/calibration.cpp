// Drawing the calibration rows.
#include "quant/calibration.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"

namespace tinyq {

std::vector<std::size_t> calibration_indices(std::size_t n, std::size_t count, std::uint64_t seed) {
  if (count == 0 || count > n)
    throw Error("calibration: expected 1 to " + std::to_string(n) + " samples, found " +
                std::to_string(count));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  rng.shuffle(std::span(order));
  order.resize(count);
  return order;
}

Tensor calibration_rows(const Tensor& inputs, std::size_t count, std::uint64_t seed) {
  inputs.require_rank(2, "calibration_rows");
  const std::size_t n = inputs.dim(0), features = inputs.dim(1);
  const std::vector<std::size_t> rows = calibration_indices(n, count, seed);
  Tensor out(Shape{count, features});
  for (std::size_t i = 0; i < count; ++i)
    std::copy_n(inputs.row(rows[i]).begin(), features, out.row(i).begin());
  return out;
}

}  // namespace tinyq
