// Round-to-nearest on each block's grid.
#include "quant/rounding.hpp"

#include <algorithm>
#include <cmath>

namespace tinyq {

void for_each_block(const QuantizedMatrix& layout,
                    const std::function<void(std::size_t, std::size_t, std::size_t)>& visit) {
  if (layout.format.granularity == Granularity::tensor) {
    visit(0, layout.rows * layout.cols, 0);
    return;
  }
  const std::size_t step = layout.block_columns();
  for (std::size_t r = 0; r < layout.rows; ++r)
    for (std::size_t run = 0; run < layout.runs_per_row(); ++run) {
      const std::size_t begin = run * step;
      const std::size_t length = std::min(step, layout.cols - std::min(layout.cols, begin));
      visit(r * layout.cols + begin, length, layout.block_index(r, run));
    }
}

std::vector<float> block_importance(std::span<const float> column_importance, std::size_t cols,
                                    std::size_t begin, std::size_t length) {
  std::vector<float> out;
  if (column_importance.empty()) return out;
  out.resize(length);
  for (std::size_t i = 0; i < length; ++i) out[i] = column_importance[(begin + i) % cols];
  return out;
}

RoundedMatrix round_to_nearest(std::span<const float> w, const QuantizedMatrix& layout,
                               const GridChooser& choose_grid,
                               std::span<const float> column_importance) {
  const Scheme scheme = layout.format.scheme;
  const int bits = layout.format.bits;
  RoundedMatrix out{std::vector<std::int32_t>(w.size()),
                    std::vector<BlockGrid>(layout.block_count())};
  for_each_block(layout, [&](std::size_t begin, std::size_t length, std::size_t block) {
    const auto run = w.subspan(begin, length);
    const std::vector<float> importance =
        block_importance(column_importance, layout.cols, begin, length);
    const BlockGrid grid = choose_grid(run, importance, scheme, bits);
    out.grids[block] = grid;
    for (std::size_t i = 0; i < length; ++i)
      out.codes[begin + i] = nearest_code(run[i], grid, scheme, bits);
  });
  return out;
}

}  // namespace tinyq
