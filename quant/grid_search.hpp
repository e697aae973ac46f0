// A grid chosen by searching: the range whose grid fits the block best.
//
// Min-max spends the grid on the extremes: at 2 bits a symmetric grid has
// the levels -r, 0, r with r = max |w|, so every weight under r/2 rounds to
// 0 and most of a bell-shaped row is lost. Clipping the range trades a larger
// error on the few outliers (they clamp to the end levels) for a finer grid
// everywhere else. mse_grid tries ranges from the full min-max one down to
// 30% of it, in steps of 1%, and keeps the one whose rounded weights have the
// least squared error Σ (w - w')², ties going to the wider range. A symmetric
// range shrinks around 0; an asymmetric one around the middle of [min, max].
// Rounding is to nearest (quant/rounding.hpp), as the weights will be.
#pragma once

#include <span>

#include "quant/grid.hpp"

namespace tinyq {

BlockGrid mse_grid(std::span<const float> block, Scheme scheme, int bits);

// Σ (w - w')² for the block rounded to nearest on `grid`.
double squared_error(std::span<const float> block, const BlockGrid& grid, Scheme scheme, int bits);

}  // namespace tinyq
