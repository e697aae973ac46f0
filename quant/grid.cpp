// The min-max grid and what a grid stores.
#include "quant/grid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tinyq {

BlockScale BlockGrid::stored() const {
  if (!usable()) return {1.0f, static_cast<float>(offset)};
  return {static_cast<float>(levels / range), static_cast<float>(offset)};
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

// The extremes in 8 interleaved lanes: independent comparisons the compiler
// turns into vector min/max (std::minmax_element is one dependent chain, and
// QAT chooses every row's grid at every step). Values are exact, so the
// result is std::minmax_element's, and max |w| is exact in float too.
BlockGrid minmax_grid(std::span<const float> block, Scheme scheme, int bits) {
  BlockGrid grid;
  grid.levels = highest_code(scheme, bits);
  if (block.empty()) return grid;
  constexpr std::size_t lanes = 8;
  float lo[lanes], hi[lanes];
  std::fill_n(lo, lanes, block[0]);
  std::fill_n(hi, lanes, block[0]);
  std::size_t i = 0;
  for (; i + lanes <= block.size(); i += lanes)
    for (std::size_t l = 0; l < lanes; ++l) {
      lo[l] = block[i + l] < lo[l] ? block[i + l] : lo[l];
      hi[l] = block[i + l] > hi[l] ? block[i + l] : hi[l];
    }
  for (; i < block.size(); ++i) {
    lo[0] = std::min(lo[0], block[i]);
    hi[0] = std::max(hi[0], block[i]);
  }
  const float low = *std::min_element(lo, lo + lanes);
  const float high = *std::max_element(hi, hi + lanes);
  if (scheme == Scheme::asymmetric) {
    grid.offset = low;
    grid.range = static_cast<double>(high) - grid.offset;
  } else {
    grid.range =
        std::max(std::fabs(static_cast<double>(low)), std::fabs(static_cast<double>(high)));
  }
  return grid;
}

}  // namespace tinyq
