// The clipping search of grid_search.hpp.
#include "quant/grid_search.hpp"

#include "quant/rounding.hpp"

namespace tinyq {

double squared_error(std::span<const float> block, const BlockGrid& grid, Scheme scheme, int bits) {
  double sum = 0.0;
  for (const float w : block) {
    const std::int32_t q = nearest_code(w, grid, scheme, bits);
    // The level of code q, in double as dequantize computes it.
    const double level = grid.usable() ? grid.offset + q * grid.range / grid.levels : grid.offset;
    sum += (w - level) * (w - level);
  }
  return sum;
}

BlockGrid mse_grid(std::span<const float> block, Scheme scheme, int bits) {
  const BlockGrid full = minmax_grid(block, scheme, bits);
  if (!full.usable()) return full;
  BlockGrid best = full;
  double best_error = squared_error(block, full, scheme, bits);
  const double middle = full.offset + full.range / 2;  // asymmetric grids shrink around it
  for (int percent = 99; percent >= 30; --percent) {
    BlockGrid candidate = full;
    candidate.range = full.range * percent / 100.0;
    if (scheme == Scheme::asymmetric) candidate.offset = middle - candidate.range / 2;
    const double error = squared_error(block, candidate, scheme, bits);
    if (error < best_error) {
      best = candidate;
      best_error = error;
    }
  }
  return best;
}

}  // namespace tinyq
