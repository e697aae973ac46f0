// The min-max grid and what a grid stores.
#include "quant/grid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tinyq {

bool BlockGrid::usable() const {
  return range > 0.0 && levels / range <= std::numeric_limits<float>::max();
}

BlockScale BlockGrid::stored() const {
  if (!usable()) return {1.0f, static_cast<float>(offset)};
  return {static_cast<float>(levels / range), static_cast<float>(offset)};
}

int lowest_code(Scheme scheme, int bits) {
  return scheme == Scheme::asymmetric ? 0 : -highest_code(scheme, bits);
}

int highest_code(Scheme scheme, int bits) {
  return scheme == Scheme::asymmetric ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
}

GridChooser ignoring_importance(BlockGrid (*grid)(std::span<const float>, Scheme, int)) {
  return [grid](std::span<const float> block, std::span<const float>, Scheme scheme, int bits) {
    return grid(block, scheme, bits);
  };
}

BlockGrid grid_with_zero_point(double range, int zero_point, Scheme scheme, int bits) {
  BlockGrid grid;
  grid.levels = highest_code(scheme, bits);
  grid.range = range;
  // The same expression rounding uses for a level (offset + q · range /
  // levels), so that in double the level of code z is exactly 0.
  if (scheme == Scheme::asymmetric) grid.offset = -(zero_point * grid.range / grid.levels);
  return grid;
}

BlockGrid zero_exact_grid(std::span<const float> block, Scheme scheme, int bits) {
  if (scheme == Scheme::symmetric || block.empty()) return minmax_grid(block, scheme, bits);
  const auto [lo, hi] = std::minmax_element(block.begin(), block.end());
  const double low = std::min(0.0, double(*lo)), high = std::max(0.0, double(*hi));
  const int levels = highest_code(scheme, bits);
  const double range = high - low;
  if (range == 0.0) return grid_with_zero_point(0.0, 0, scheme, bits);
  const int zero = std::clamp(static_cast<int>(std::round(-low * levels / range)), 0, levels);
  return grid_with_zero_point(range, zero, scheme, bits);
}

BlockGrid minmax_grid(std::span<const float> block, Scheme scheme, int bits) {
  BlockGrid grid;
  grid.levels = highest_code(scheme, bits);
  if (block.empty()) return grid;
  if (scheme == Scheme::asymmetric) {
    const auto [lo, hi] = std::minmax_element(block.begin(), block.end());
    grid.offset = *lo;
    grid.range = static_cast<double>(*hi) - grid.offset;
  } else {
    for (const float v : block)
      grid.range = std::max(grid.range, std::fabs(static_cast<double>(v)));
  }
  return grid;
}

}  // namespace tinyq
