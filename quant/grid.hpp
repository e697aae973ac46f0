// Choosing the grid: the levels a block of weights may take.
//
// A block's grid is w(q) = offset + q · range / levels for integer codes q:
//   asymmetric  q in [0, levels],  levels = 2^bits - 1,
//               min-max: offset = block minimum, range = max - min;
//   symmetric   q in [-levels, levels],  levels = 2^(bits-1) - 1,
//               min-max: offset = 0, range = max |w|;
//   ternary     as symmetric with levels = 1: q in {-1, 0, 1}.
// A grid is kept in double, so rounding (quant/rounding.hpp) computes
// (w - offset) · levels / range exactly as written, and stored as one float
// scale = levels / range ("levels per unit of w") and one float offset.
//
// Choosing the grid is separate from rounding to it, and each can be
// replaced on its own: a clipping search is another GridChooser (a smaller
// range, whose outliers then clamp to the end levels); an error-compensating
// rounding is another Rounder that asks the chooser for each block's grid.
#pragma once

#include <functional>
#include <span>

#include "quant/scheme.hpp"

namespace tinyq {

struct BlockScale {
  float scale = 1.0f;   // levels per unit of w
  float offset = 0.0f;  // block minimum (asymmetric); 0 for symmetric
};

struct BlockGrid {
  double offset = 0.0;
  double range = 0.0;  // 0 (or too tiny for a float scale): degenerate, every code is 0
  double levels = 1.0;

  // False when levels / range would not be a finite positive float: the
  // block is constant (or nearly), every weight rounds to code 0 = offset,
  // and the stored scale is 1, so it comes back exactly (or within that
  // tiny range) with no division by zero.
  bool usable() const;
  // What QuantizedMatrix stores: {levels / range, offset}, or {1, offset}.
  BlockScale stored() const;
};

// The code range of a scheme at `bits`: [lowest, highest].
int lowest_code(Scheme scheme, int bits);
int highest_code(Scheme scheme, int bits);

// Chooses one block's grid from its weights.
using GridChooser = std::function<BlockGrid(std::span<const float> block, Scheme scheme, int bits)>;

// The grid spanning the block exactly: [min, max] (asymmetric) or
// [-max |w|, max |w|] (symmetric). An empty block gets a degenerate grid.
BlockGrid minmax_grid(std::span<const float> block, Scheme scheme, int bits);

}  // namespace tinyq
