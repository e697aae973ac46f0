// widen_gemm: packing, the table of paths, the walk over tiles, and the plain
// C++ kernel.
#include "core/kernels/widen_gemm.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tinyq {

WidenKernel widen_kernel_generic();

namespace {

void kernel_generic(std::size_t rows, const float* x, std::size_t ldx, const std::int8_t* b,
                    std::size_t panel_stride, std::size_t panels, std::size_t k_begin,
                    std::size_t k_end, float* c, std::size_t ldc, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t panel = 0; panel < panels; ++panel) {
      float acc[widen_panel_columns] = {};
      const std::int8_t* w = b + panel * panel_stride;
      for (std::size_t p = k_begin; p < k_end; ++p)
        for (std::size_t j = 0; j < widen_panel_columns; ++j)
          acc[j] += x[r * ldx + p] * static_cast<float>(w[p * widen_panel_columns + j]);
      const std::size_t first = panel * widen_panel_columns;
      for (std::size_t j = 0; j < widen_panel_columns && first + j < cols; ++j)
        c[r * ldc + first + j] = acc[j];
    }
}

// The paths, indexed by Isa (what each needs: core/kernels/isa.hpp).
const WidenKernel& kernel_for(Isa isa) {
  static const IsaTable<WidenKernel> paths(widen_kernel_generic(), widen_kernel_avx2(),
                                           widen_kernel_avx512());
  require_supported(KernelFamily::widen_gemm, isa);
  return paths[isa];
}

// See widen_gemm.
void widen_first(const WidenKernel& kernel, std::size_t m, const float* x, std::size_t ldx,
                 const WidenPanels& b, std::size_t k_begin, std::size_t k_end,
                 std::size_t panel_begin, std::size_t panel_end, float* c, std::size_t ldc) {
  constexpr std::size_t k_block = 256;
  constexpr std::size_t panels_per_step = 2;
  const std::size_t tile_rows = kernel.wide_rows;
  const std::size_t tiles = (m + tile_rows - 1) / tile_rows;
  const std::size_t length = k_end - k_begin;
  const std::size_t panel_stride = b.k * widen_panel_columns;
  thread_local std::vector<float> packed_x, wide;
  if (kernel.wide_x_packed) pack_rows_side_by_side(m, x, ldx, k_begin, length, tile_rows, packed_x);
  wide.resize(panels_per_step * k_block * widen_panel_columns);
  for (std::size_t panel = panel_begin; panel < panel_end; panel += panels_per_step) {
    const std::size_t panels = std::min(panels_per_step, panel_end - panel);
    const std::size_t j = panel * widen_panel_columns;
    const std::size_t cols = std::min(panels * widen_panel_columns, b.n - j);
    for (std::size_t k0 = 0; k0 < length; k0 += k_block) {
      const std::size_t block = std::min(k_block, length - k0);
      const std::size_t wide_stride = block * widen_panel_columns;
      for (std::size_t q = 0; q < panels; ++q) {
        const std::int8_t* codes =
            b.data.data() + (panel + q) * panel_stride + (k_begin + k0) * widen_panel_columns;
        float* out = wide.data() + q * wide_stride;
        for (std::size_t i = 0; i < wide_stride; ++i) out[i] = static_cast<float>(codes[i]);
      }
      for (std::size_t t = 0; t < tiles; ++t) {
        const float* x_tile = kernel.wide_x_packed ? packed_x.data() + (t * length + k0) * tile_rows
                                                   : x + t * tile_rows * ldx + k_begin + k0;
        kernel.run_wide(std::min(tile_rows, m - t * tile_rows), x_tile, ldx, wide.data(),
                        wide_stride, panels, block, c + t * tile_rows * ldc + j, ldc, cols, k0 > 0);
      }
    }
  }
}

}  // namespace

void pack_rows_side_by_side(std::size_t m, const float* x, std::size_t ldx, std::size_t k_begin,
                            std::size_t length, std::size_t tile_rows, std::vector<float>& out) {
  const std::size_t tiles = (m + tile_rows - 1) / tile_rows;
  out.resize(tiles * length * tile_rows);
  for (std::size_t r = 0; r < tiles * tile_rows; ++r) {
    float* to = out.data() + (r / tile_rows) * length * tile_rows + r % tile_rows;
    if (r >= m) {
      for (std::size_t p = 0; p < length; ++p) to[p * tile_rows] = 0.0f;
      continue;
    }
    const float* row = x + r * ldx + k_begin;
    for (std::size_t p = 0; p < length; ++p) to[p * tile_rows] = row[p];
  }
}

WidenKernel widen_kernel_generic() {
  return {4, 1, kernel_generic};
}

WidenPanels pack_widen_panels(std::size_t n, std::size_t k, const std::int8_t* b, std::size_t ldb) {
  WidenPanels packed;
  packed.n = n;
  packed.k = k;
  packed.data.assign(packed.panels() * k * widen_panel_columns, 0);
  for (std::size_t j = 0; j < n; ++j) {
    std::int8_t* panel = packed.data.data() + (j / widen_panel_columns) * k * widen_panel_columns;
    for (std::size_t p = 0; p < k; ++p)
      panel[p * widen_panel_columns + j % widen_panel_columns] = b[j * ldb + p];
  }
  return packed;
}

void widen_gemm(Isa isa, std::size_t m, const float* x, std::size_t ldx, const WidenPanels& b,
                std::size_t k_begin, std::size_t k_end, float* c, std::size_t ldc) {
  widen_gemm_panels(isa, m, x, ldx, b, k_begin, k_end, 0, b.panels(), c, ldc);
}

void widen_gemm_panels(Isa isa, std::size_t m, const float* x, std::size_t ldx,
                       const WidenPanels& b, std::size_t k_begin, std::size_t k_end,
                       std::size_t panel_begin, std::size_t panel_end, float* c, std::size_t ldc) {
  if (k_begin > k_end || k_end > b.k)
    throw Error("widen_gemm: k range [" + std::to_string(k_begin) + ", " + std::to_string(k_end) +
                ") is not inside [0, " + std::to_string(b.k) + ")");
  if (panel_begin > panel_end || panel_end > b.panels())
    throw Error("widen_gemm: panels [" + std::to_string(panel_begin) + ", " +
                std::to_string(panel_end) + ") are not within the " + std::to_string(b.panels()) +
                " panels of b");
  const WidenKernel& kernel = kernel_for(isa);
  const std::size_t panel_stride = b.k * widen_panel_columns;
  // Few rows (one-sample inference): wider tiles of outputs keep more
  // independent sums in flight. Many rows: the tallest tile.
  const bool few_rows = m * 3 <= kernel.max_rows;
  const std::size_t max_panels =
      few_rows ? kernel.max_panels : std::min<std::size_t>(2, kernel.max_panels);
  // With several row tiles, widening the weights inside every tile repeats
  // the same conversions once per tile. Instead: pack the rows of x tile by
  // tile ([p][tile rows], one cache line per step of p), and for each block
  // of k (so the widened panels, 2 × 256 × 64 bytes, stay in L1) widen a few
  // panels to float once and run the float tile over all rows. Each sum is
  // still one chain over p in order, so the bits are the same either way.
  if (kernel.run_wide != nullptr && m > kernel.max_rows) {
    widen_first(kernel, m, x, ldx, b, k_begin, k_end, panel_begin, panel_end, c, ldc);
    return;
  }
  for (std::size_t panel = panel_begin; panel < panel_end; panel += max_panels) {
    const std::size_t panels = std::min(max_panels, panel_end - panel);
    const std::size_t j = panel * widen_panel_columns;
    const std::size_t cols = std::min(panels * widen_panel_columns, b.n - j);
    for (std::size_t r = 0; r < m; r += kernel.max_rows)
      kernel.run(std::min(kernel.max_rows, m - r), x + r * ldx, ldx,
                 b.data.data() + panel * panel_stride, panel_stride, panels, k_begin, k_end,
                 c + r * ldc + j, ldc, cols);
  }
}

}  // namespace tinyq
