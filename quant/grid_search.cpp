// The scale and zero-point search of grid_search.hpp.
#include "quant/grid_search.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "quant/rounding.hpp"

namespace tinyq {

namespace {

double weight_of(std::span<const float> importance, std::size_t i) {
  return importance.empty() ? 1.0 : importance[i];
}

struct Fit {
  BlockGrid grid;
  double error;
};

// The zero point of an asymmetric grid (the code whose level is 0); 0 for
// symmetric grids.
int zero_point_of(const BlockGrid& grid) {
  return static_cast<int>(std::lround(-grid.offset * grid.levels / grid.range));
}

// Evaluates `grid`, then the grid with the same codes' least-squares step.
void try_grid(std::span<const float> block, std::span<const float> importance,
              const BlockGrid& grid, Scheme scheme, int bits, Fit& best) {
  if (!grid.usable()) return;
  const int zero = scheme == Scheme::asymmetric ? zero_point_of(grid) : 0;
  double error = 0.0, wd = 0.0, dd = 0.0;
  for (std::size_t i = 0; i < block.size(); ++i) {
    const std::int32_t q = nearest_code(block[i], grid, scheme, bits);
    const double a = weight_of(importance, i), w = block[i], d = q - zero;
    error += a * (w - level_of(q, grid)) * (w - level_of(q, grid));
    wd += a * w * d;
    dd += a * d * d;
  }
  if (error < best.error) best = {grid, error};
  if (dd > 0.0 && wd > 0.0) {
    const BlockGrid refined = grid_with_zero_point(wd / dd * grid.levels, zero, scheme, bits);
    if (!refined.usable()) return;
    const double refined_error = squared_error(block, refined, scheme, bits, importance);
    if (refined_error < best.error) best = {refined, refined_error};
  }
}

}  // namespace

double squared_error(std::span<const float> block, const BlockGrid& grid, Scheme scheme, int bits,
                     std::span<const float> importance) {
  double sum = 0.0;
  for (std::size_t i = 0; i < block.size(); ++i) {
    const double e = block[i] - level_of(nearest_code(block[i], grid, scheme, bits), grid);
    sum += weight_of(importance, i) * e * e;
  }
  return sum;
}

BlockGrid search_grid(std::span<const float> block, std::span<const float> data_importance,
                      Scheme scheme, int bits) {
  const BlockGrid full = zero_exact_grid(block, scheme, bits);
  if (!full.usable()) return full;
  double sigma2 = 0.0;
  for (const float w : block) sigma2 += double(w) * w / double(block.size());
  std::vector<float> weights(block.size());
  for (std::size_t i = 0; i < block.size(); ++i) {
    const double own = sigma2 + double(block[i]) * block[i];
    weights[i] = float(data_importance.empty() ? own : data_importance[i] * std::sqrt(own));
  }
  const std::span<const float> importance(weights);
  Fit best{full, squared_error(block, full, scheme, bits, importance)};
  const int levels = highest_code(scheme, bits);
  if (scheme == Scheme::symmetric) {
    try_grid(block, importance, full, scheme, bits, best);
    for (int percent = 99; percent >= 20; --percent)
      try_grid(block, importance,
               grid_with_zero_point(full.range * percent / 100.0, 0, scheme, bits), scheme, bits,
               best);
    try_grid(block, importance,
             grid_with_zero_point(full.range * levels / (levels + 0.5), 0, scheme, bits), scheme,
             bits, best);
    return best.grid;
  }
  const double middle = full.offset + full.range / 2;  // of [min(min, 0), max(max, 0)]
  for (int percent = 100; percent >= 20; --percent) {
    const double range = full.range * percent / 100.0, step = range / levels;
    const int centred = static_cast<int>(std::lround((range / 2 - middle) / step));
    for (const int zero : {centred, centred - 1, centred + 1})
      if (zero >= 0 && zero <= levels)
        try_grid(block, importance, grid_with_zero_point(range, zero, scheme, bits), scheme, bits,
                 best);
  }
  return best.grid;
}

}  // namespace tinyq
