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
  if (scheme == Scheme::ternary) return 1;
  return scheme == Scheme::asymmetric ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
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
