// Rounding weights to codes on their blocks' grids (quant/grid.hpp).
//
// Rounding to nearest treats every weight alone:
//   q = clamp(round((w - offset) · levels / range), lowest, highest)
// with ties rounded away from zero (127.5 -> 128). The division comes last:
// for the worked example [400, 500, 600], (500 - 400) · 255 / 200 is exactly
// 127.5 in double and rounds to 128, whereas multiplying by a precomputed
// scale 255 / 200 gives 127.49999999999999 and 127.
//
// A Rounder gets the whole matrix and the grid chooser, so a method that
// rounds one weight using the errors of those before it (GPTQ) can fit each
// block's grid when it reaches it. It also gets the importance of each input
// column (E[x_c²] on calibration data, or empty) to hand to the chooser.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "quant/grid.hpp"
#include "quant/quantized_matrix.hpp"

namespace tinyq {

struct RoundedMatrix {
  std::vector<std::int32_t> codes;  // rows · cols, row-major
  std::vector<BlockGrid> grids;     // one per block, in QuantizedMatrix's block order
};

// w: [rows, cols] row-major, finite. `layout` gives the format and the block
// structure (its rows, cols and format are set; codes and scales are not).
// column_importance: empty or one value per column.
using Rounder = std::function<RoundedMatrix(std::span<const float> w, const QuantizedMatrix& layout,
                                            const GridChooser& choose_grid,
                                            std::span<const float> column_importance)>;

// Each block's grid from the chooser, each weight rounded to nearest.
RoundedMatrix round_to_nearest(std::span<const float> w, const QuantizedMatrix& layout,
                               const GridChooser& choose_grid,
                               std::span<const float> column_importance = {});

// The importance of the weights [begin, begin + length) of the row-major
// matrix (a block): column_importance repeated row after row; empty when
// column_importance is.
std::vector<float> block_importance(std::span<const float> column_importance, std::size_t cols,
                                    std::size_t begin, std::size_t length);

// One weight on one grid, rounded to nearest (inline: see level_of).
inline std::int32_t nearest_code(float w, const BlockGrid& grid, Scheme scheme, int bits) {
  if (!grid.usable()) return 0;
  const double level = (static_cast<double>(w) - grid.offset) * grid.levels / grid.range;
  // std::round rounds halfway cases away from zero.
  return std::clamp(static_cast<std::int32_t>(std::round(level)), lowest_code(scheme, bits),
                    highest_code(scheme, bits));
}

// Calls visit(begin, length, block) for every block of the layout: each is a
// contiguous run [begin, begin + length) of the row-major matrix.
void for_each_block(
    const QuantizedMatrix& layout,
    const std::function<void(std::size_t begin, std::size_t length, std::size_t block)>& visit);

}  // namespace tinyq
