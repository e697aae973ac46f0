// widen_gemm: packing, the walk over tiles, and the plain C++ kernel.
#include "core/widen_gemm.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace tinyq {

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

WidenKernel kernel_for(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return widen_kernel_avx512();
    case Isa::avx2:
      return widen_kernel_avx2();
    case Isa::generic:
      break;
  }
  return widen_kernel_generic();
}

}  // namespace

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
  if (k_begin > k_end || k_end > b.k)
    throw Error("widen_gemm: k range [" + std::to_string(k_begin) + ", " + std::to_string(k_end) +
                ") is not inside [0, " + std::to_string(b.k) + ")");
  const WidenKernel kernel = kernel_for(isa);
  const std::size_t panel_stride = b.k * widen_panel_columns;
  // Few rows (one-sample inference): wider tiles of outputs keep more
  // independent sums in flight. Many rows: the tallest tile.
  const bool few_rows = m * 3 <= kernel.max_rows;
  const std::size_t max_panels =
      few_rows ? kernel.max_panels : std::min<std::size_t>(2, kernel.max_panels);
  for (std::size_t panel = 0; panel < b.panels(); panel += max_panels) {
    const std::size_t panels = std::min(max_panels, b.panels() - panel);
    const std::size_t j = panel * widen_panel_columns;
    const std::size_t cols = std::min(panels * widen_panel_columns, b.n - j);
    for (std::size_t r = 0; r < m; r += kernel.max_rows)
      kernel.run(std::min(kernel.max_rows, m - r), x + r * ldx, ldx,
                 b.data.data() + panel * panel_stride, panel_stride, panels, k_begin, k_end,
                 c + r * ldc + j, ldc, cols);
  }
}

}  // namespace tinyq
