// Choosing the grid: the levels a block of weights may take.
//
// A block's grid is w(q) = offset + q · range / levels for integer codes q:
//   asymmetric  q in [0, levels],  levels = 2^bits - 1,
//               min-max: offset = block minimum, range = max - min;
//               zero-exact: the range widened to include 0 and the offset
//               moved by less than half a step, to -z · range / levels for
//               an integer zero point z, so that code z means exactly 0;
//   symmetric   q in [-levels, levels],  levels = 2^(bits-1) - 1,
//               min-max: offset = 0, range = max |w|;
//   ternary     as symmetric with levels = 1: q in {-1, 0, 1}.
//
// Why 0 must be a level: a min-max asymmetric grid starts at the block
// minimum, so its levels fall wherever (max - min) / levels puts them. At 3
// bits per tensor the level nearest 0 can sit a third of a step away, and
// the mass of near-zero weights all round to it: every neuron gains the same
// bias. PyTorch, TFLite and GPTQ keep an integer zero point for this reason.
//
// A grid is kept in double, so rounding (quant/rounding.hpp) computes
// (w - offset) · levels / range exactly as written, and stored as one float
// scale = levels / range ("levels per unit of w") and one float offset.
//
// Choosing the grid is separate from rounding to it, and each can be
// replaced on its own: a clipping search is another GridChooser (a smaller
// range, whose outliers then clamp to the end levels); an error-compensating
// rounding is another Rounder that asks the chooser for each block's grid.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
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
  bool usable() const { return range > 0.0 && levels / range <= std::numeric_limits<float>::max(); }
  // What QuantizedMatrix stores: {levels / range, offset}, or {1, offset}.
  BlockScale stored() const;
};

// The level of code q, offset + q · range / levels, in double as rounding
// and dequantize compute it (the offset alone on a degenerate grid).
// Inline, as usable() and the code range are: the grid searches call them
// for every weight of every candidate grid, and as calls into grid.cpp they
// were a third of quantize_eval's sweep.
inline double level_of(std::int32_t q, const BlockGrid& grid) {
  return grid.usable() ? grid.offset + q * grid.range / grid.levels : grid.offset;
}

// The code range of a scheme at `bits`: [lowest, highest].
inline int highest_code(Scheme scheme, int bits) {
  if (scheme == Scheme::ternary) return 1;
  return scheme == Scheme::asymmetric ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
}
inline int lowest_code(Scheme scheme, int bits) {
  return scheme == Scheme::asymmetric ? 0 : -highest_code(scheme, bits);
}

// Chooses one block's grid from its weights. `importance` is empty (every
// weight counts alike) or holds one weight per entry of `block`: E[x_c²] of
// the input c the weight multiplies, over calibration data, so that an error
// on a weight whose input is large (or never zero) costs more (an
// "importance matrix", as llama.cpp calls it). Choosers may ignore it.
using GridChooser = std::function<BlockGrid(
    std::span<const float> block, std::span<const float> importance, Scheme scheme, int bits)>;

// A chooser from a grid function that needs no importance.
GridChooser ignoring_importance(BlockGrid (*grid)(std::span<const float>, Scheme, int));

// The grid spanning the block exactly: [min, max] (asymmetric) or
// [-max |w|, max |w|] (symmetric). An empty block gets a degenerate grid.
BlockGrid minmax_grid(std::span<const float> block, Scheme scheme, int bits);

// Asymmetric: the range [min(min, 0), max(max, 0)] with its offset rounded to
// a whole number of steps below 0 (weights beyond the shifted ends clamp, by
// less than half a step). Symmetric grids contain 0 already: min-max.
BlockGrid zero_exact_grid(std::span<const float> block, Scheme scheme, int bits);

// The grid spanning `range` from offset -z · range / levels: code z is 0.
BlockGrid grid_with_zero_point(double range, int zero_point, Scheme scheme, int bits);

}  // namespace tinyq
