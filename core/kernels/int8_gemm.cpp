// int8_gemm: packing b into panels, the table of instruction-set paths, and
// walking the tiles. The kernels themselves live in int8_gemm_<isa>.cpp.
#include "core/kernels/int8_gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"

namespace tinyq {

namespace {

// Longest row whose sum of products surely fits in int32: 255 · 128 · k < 2^31.
constexpr std::size_t max_exact_k = 65792;

// The paths, indexed by Isa (what each needs: core/kernels/isa.hpp).
const Int8Kernel& kernel_for(Isa isa) {
  static const IsaTable<Int8Kernel> paths(int8_kernel_generic(), int8_kernel_avx2(),
                                          int8_kernel_avx512());
  require_supported(KernelFamily::int8_gemm, isa);
  return paths[isa];
}

}  // namespace

Int8Panels pack_int8_panels(std::size_t n, std::size_t k, const std::int8_t* b, std::size_t ldb) {
  if (k > max_exact_k)
    throw Error("pack_int8_panels: rows of " + std::to_string(k) +
                " inputs could overflow int32 sums (at most " + std::to_string(max_exact_k) + ")");
  Int8Panels packed;
  packed.n = n;
  packed.k = k;
  packed.k_groups = (k + int8_k_group - 1) / int8_k_group;
  packed.max_abs = 0;
  const std::size_t group_bytes = int8_panel_columns * int8_k_group;
  packed.data.assign(packed.panels() * packed.k_groups * group_bytes, 0);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t p = 0; p < k; ++p)
      packed.max_abs = std::max(packed.max_abs, std::abs(std::int32_t{b[j * ldb + p]}));
    std::int8_t* panel =
        packed.data.data() + (j / int8_panel_columns) * packed.k_groups * group_bytes;
    const std::size_t column = j % int8_panel_columns;
    for (std::size_t p = 0; p < k; ++p)
      panel[(p / int8_k_group) * group_bytes + column * int8_k_group + p % int8_k_group] =
          b[j * ldb + p];
  }
  return packed;
}

namespace {

// run_tiles for kernels with a listed entry. Each row of a, or each tile of
// rows, walks the list of its k-groups that hold a nonzero byte
// (list_block); a tile with none to skip takes the plain kernel. One row
// (batch 1) takes all panels in one call, so the kernel can share each
// listed group between several panels.
void run_listed_tiles(const Int8Tiles& kernel, std::size_t m, const std::uint8_t* a,
                      std::size_t lda, const Int8Panels& b, std::size_t g_begin, std::size_t g_end,
                      std::int32_t* c, std::size_t ldc, std::size_t panel_begin,
                      std::size_t panel_end) {
  const std::size_t panel_stride = b.k_groups * int8_panel_columns * int8_k_group;
  const std::size_t groups = g_end - g_begin;
  thread_local BlockLists lists;
  list_block(kernel.list_nonzero, a, lda, m, kernel.max_rows, g_begin, g_end, kernel.row_list_cost,
             lists);
  if (m == 1) {  // its own tile
    const std::size_t j_begin = panel_begin * int8_panel_columns;
    kernel.run_listed(1, a, lda, lists.tiles.data(), lists.tile_counts[0],
                      b.data.data() + panel_begin * panel_stride, panel_stride,
                      panel_end - panel_begin, c + j_begin, ldc,
                      std::min(panel_end * int8_panel_columns, b.n) - j_begin);
    return;
  }
  const bool by_rows = lists.by_rows && kernel.run_row_lists != nullptr;
  // Panels outside, rows inside, as in run_tiles: the panels stay in L1
  // while the rows or tiles walk their lists over them. Rows walking alone
  // take one panel at a time, tiles as many as the kernel's tile is wide.
  const std::size_t step = by_rows ? 1 : kernel.max_panels;
  for (std::size_t panel = panel_begin; panel < panel_end; panel += step) {
    const std::size_t panels = std::min(step, panel_end - panel);
    const std::int8_t* weights = b.data.data() + panel * panel_stride;
    const std::size_t j = panel * int8_panel_columns;
    const std::size_t cols = std::min(panels * int8_panel_columns, b.n - j);
    if (by_rows) {
      kernel.run_row_lists(m, a, lda, lists.rows.data(), groups, lists.row_counts.data(), weights,
                           c + j, ldc, cols);
      continue;
    }
    for (std::size_t t = 0; t * kernel.max_rows < m; ++t) {
      const std::size_t r = t * kernel.max_rows, rows = std::min(kernel.max_rows, m - r);
      const std::size_t count = lists.tile_counts[t];
      if (count == groups)
        kernel.run(rows, a + r * lda, lda, weights, panel_stride, g_begin, g_end, c + r * ldc + j,
                   ldc, cols);
      else
        kernel.run_listed(rows, a + r * lda, lda, lists.tiles.data() + t * groups, count, weights,
                          panel_stride, panels, c + r * ldc + j, ldc, cols);
    }
  }
}

// The entry points: check the k range, then walk `kernel`'s tiles over
// panels [panel_begin, panel_end) (c points at column 0).
void run_tiles(const char* name, const Int8Tiles& kernel, std::size_t m, const std::uint8_t* a,
               std::size_t lda, const Int8Panels& b, std::size_t k_begin, std::size_t k_end,
               std::int32_t* c, std::size_t ldc, std::size_t panel_begin, std::size_t panel_end) {
  if (k_begin % int8_k_group != 0 || k_begin > k_end || k_end > b.k ||
      (k_end % int8_k_group != 0 && k_end != b.k))
    throw Error(std::string(name) + ": k range [" + std::to_string(k_begin) + ", " +
                std::to_string(k_end) +
                ") must start at a multiple of 4 and end at one or at k = " + std::to_string(b.k));
  const std::size_t g_begin = k_begin / int8_k_group;
  const std::size_t g_end = (k_end + int8_k_group - 1) / int8_k_group;
  const std::size_t panel_stride = b.k_groups * int8_panel_columns * int8_k_group;
  if (panel_begin == panel_end) return;
  // AMX takes the whole panels (16 outputs each) of the whole 16 rows over
  // the whole 16 k-groups. The k-groups past those are summed first, into
  // C, by the calls below for that k range, and AMX then adds to them; the
  // rows past the last 16 and a last panel of fewer than 16 outputs go on
  // to the kernels below as products of their own.
  const std::size_t amx_rows = m / 16 * 16, amx_groups = (g_end - g_begin) / 16 * 16;
  const std::size_t full_panel_end = std::min(panel_end, b.n / int8_panel_columns);
  if (kernel.amx_blocks && amx_rows > 0 && amx_groups > 0 && full_panel_end > panel_begin &&
      int8_amx_enabled()) {
    const std::size_t g_split = g_begin + amx_groups;
    if (g_split < g_end)
      run_tiles(name, kernel, amx_rows, a, lda, b, g_split * int8_k_group, k_end, c, ldc,
                panel_begin, full_panel_end);
    int8_gemm_amx(amx_rows, a, lda, b.data.data() + panel_begin * panel_stride, panel_stride,
                  full_panel_end - panel_begin, g_begin, g_split,
                  c + panel_begin * int8_panel_columns, ldc, g_split < g_end);
    if (m > amx_rows)
      run_tiles(name, kernel, m - amx_rows, a + amx_rows * lda, lda, b, k_begin, k_end,
                c + amx_rows * ldc, ldc, panel_begin, panel_end);
    if (panel_end > full_panel_end)
      run_tiles(name, kernel, amx_rows, a, lda, b, k_begin, k_end, c, ldc, full_panel_end,
                panel_end);
    return;
  }
  if (kernel.run_listed) {
    run_listed_tiles(kernel, m, a, lda, b, g_begin, g_end, c, ldc, panel_begin, panel_end);
    return;
  }
  // Panels outside, rows inside: the few panels of b a call reads (~25 KB at
  // k = 784) stay in L1 while the row tiles of a stream past them.
  for (std::size_t panel = panel_begin; panel < panel_end; panel += kernel.max_panels) {
    const std::size_t panels = std::min(kernel.max_panels, panel_end - panel);
    const std::size_t j = panel * int8_panel_columns;
    const std::size_t cols = std::min(panels * int8_panel_columns, b.n - j);
    for (std::size_t r = 0; r < m; r += kernel.max_rows)
      kernel.run(std::min(kernel.max_rows, m - r), a + r * lda, lda,
                 b.data.data() + panel * panel_stride, panel_stride, g_begin, g_end,
                 c + r * ldc + j, ldc, cols);
  }
}

}  // namespace

void int8_gemm(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda, const Int8Panels& b,
               std::size_t k_begin, std::size_t k_end, std::int32_t* c, std::size_t ldc) {
  run_tiles("int8_gemm", kernel_for(isa).u8, m, a, lda, b, k_begin, k_end, c, ldc, 0, b.panels());
}

void int8_gemm_panel_range(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                           const Int8Panels& b, std::size_t panel_begin, std::size_t panel_end,
                           std::int32_t* c, std::size_t ldc) {
  run_tiles("int8_gemm", kernel_for(isa).u8, m, a, lda, b, 0, b.k, c, ldc, panel_begin, panel_end);
}

void int8_gemm_u7(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                  const Int8Panels& b, std::size_t k_begin, std::size_t k_end, std::int32_t* c,
                  std::size_t ldc) {
  run_tiles("int8_gemm_u7", kernel_for(isa).u7, m, a, lda, b, k_begin, k_end, c, ldc, 0,
            b.panels());
}

bool int8_uses_amx(Isa isa) {
  return isa == Isa::avx512 && int8_amx_enabled();
}

std::size_t int8_row_stride(Isa isa, std::size_t padded_k) {
  return int8_uses_amx(isa) ? (padded_k + 63) / 64 * 64 : padded_k;
}

bool int8_pair_sums_fit_int16(std::int32_t a_max, std::int32_t b_max_abs) {
  return 2 * std::clamp(a_max, 0, 255) * std::clamp(b_max_abs, 0, 128) <= 32767;
}

void int8_gemm_narrow(Isa isa, std::size_t m, const std::uint8_t* a, std::size_t lda,
                      std::int32_t a_max, const Int8Panels& b, std::size_t j_begin,
                      std::size_t j_end, std::int32_t* c, std::size_t ldc) {
  if (a_max < 0 || a_max > 255)
    throw Error("int8_gemm_narrow: a_max " + std::to_string(a_max) + " must be in 0..255");
  const PanelRange panels = panels_of_columns("int8_gemm_narrow", j_begin, j_end, b.n);
  const Int8Kernel& kernel = kernel_for(isa);
  // The u7 tiles are the plain or VNNI kernels on the other paths.
  run_tiles("int8_gemm_narrow", int8_pair_sums_fit_int16(a_max, b.max_abs) ? kernel.u7 : kernel.u8,
            m, a, lda, b, 0, b.k, c, ldc, panels.begin, panels.end);
}

// Branch-free: every index is stored, and the count advances past it only
// when its word is nonzero (a branch here would mispredict at every edge of
// a run of zeros). Several rows are first OR-ed together, 64 words at a time
// (loops the compiler vectorizes); one row is read as it is.
std::size_t list_nonzero_words(const void* bytes, std::size_t row_bytes, std::size_t rows,
                               std::size_t begin, std::size_t end, std::uint32_t* out) {
  constexpr std::size_t chunk = 64;
  const auto* first = static_cast<const std::uint8_t*>(bytes);
  std::size_t count = 0;
  for (std::size_t w0 = begin; w0 < end; w0 += chunk) {
    const std::size_t n = std::min(chunk, end - w0);
    std::uint32_t any[chunk];
    const std::uint8_t* words = first + 4 * w0;
    if (rows > 1) {
      std::memcpy(any, words, n * sizeof any[0]);
      for (std::size_t r = 1; r < rows; ++r) {
        const std::uint8_t* row = words + r * row_bytes;
        for (std::size_t i = 0; i < n; ++i) {
          std::uint32_t word;
          std::memcpy(&word, row + 4 * i, sizeof word);
          any[i] |= word;
        }
      }
      words = reinterpret_cast<const std::uint8_t*>(any);
    }
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t word;
      std::memcpy(&word, words + 4 * i, sizeof word);
      out[count] = static_cast<std::uint32_t>(w0 + i);
      count += word != 0;
    }
  }
  return count;
}

void list_block(ListNonzeroFunction list, const void* bytes, std::size_t row_bytes, std::size_t m,
                std::size_t tile_rows, std::size_t begin, std::size_t end, double row_cost,
                BlockLists& lists) {
  const std::size_t words = end - begin, tiles = (m + tile_rows - 1) / tile_rows;
  const auto* first = static_cast<const std::uint8_t*>(bytes);
  lists.rows.resize(std::max(lists.rows.size(), m * words));
  lists.tiles.resize(std::max(lists.tiles.size(), tiles * words));
  lists.row_counts.resize(std::max(lists.row_counts.size(), m));
  lists.tile_counts.resize(std::max(lists.tile_counts.size(), tiles));
  std::size_t row_products = 0, tile_products = 0;
  for (std::size_t r = 0; r < m && m > 1; ++r) {  // one row is its own tile
    lists.row_counts[r] =
        list(first + r * row_bytes, row_bytes, 1, begin, end, lists.rows.data() + r * words);
    row_products += lists.row_counts[r];
  }
  for (std::size_t t = 0; t < tiles; ++t) {
    const std::size_t r = t * tile_rows, rows = std::min(tile_rows, m - r);
    lists.tile_counts[t] =
        list(first + r * row_bytes, row_bytes, rows, begin, end, lists.tiles.data() + t * words);
    tile_products += rows * lists.tile_counts[t];
  }
  lists.by_rows =
      m > 1 && row_cost * static_cast<double>(row_products) < static_cast<double>(tile_products);
}

PanelRange panels_of_columns(const char* name, std::size_t j_begin, std::size_t j_end,
                             std::size_t n) {
  if (j_begin % int8_panel_columns != 0 || j_begin > j_end || j_end > n ||
      (j_end % int8_panel_columns != 0 && j_end != n))
    throw Error(std::string(name) + ": column range [" + std::to_string(j_begin) + ", " +
                std::to_string(j_end) + ") must start at a multiple of " +
                std::to_string(int8_panel_columns) +
                " and end at one or at n = " + std::to_string(n));
  return {j_begin / int8_panel_columns, (j_end + int8_panel_columns - 1) / int8_panel_columns};
}

void float_range(Isa isa, const float* x, std::size_t n, float& lo, float& hi) {
  kernel_for(isa).range(x, n, lo, hi);
}

namespace {

void check_top_code(const char* name, float top) {
  if (!(top >= 1.0f && top <= 255.0f && top == static_cast<float>(static_cast<int>(top))))
    throw Error(std::string(name) + ": top code " + std::to_string(top) +
                " must be a whole number from 1 to 255");
}

}  // namespace

std::uint32_t affine_to_u8(Isa isa, const float* x, std::size_t n, float scale, float shift,
                           float top, std::uint8_t* out) {
  check_top_code("affine_to_u8", top);
  return kernel_for(isa).to_u8(x, n, scale, shift, top, out);
}

void affine_to_u8_runs(Isa isa, const float* x, std::size_t n, std::size_t run_length, float scale,
                       float shift, float top, std::uint8_t* out, std::span<std::int32_t> sums) {
  check_top_code("affine_to_u8_runs", top);
  if (run_length == 0 || sums.size() < (n + run_length - 1) / run_length)
    throw Error("affine_to_u8_runs: room for " + std::to_string(sums.size()) + " run sums, " +
                std::to_string(n) + " values in runs of " + std::to_string(run_length) +
                " (expected a run length of at least 1 and room for every run)");
  const Int8Kernel& kernel = kernel_for(isa);
  for (std::size_t g = 0, begin = 0; begin < n; ++g, begin += run_length) {
    const std::size_t length = std::min(run_length, n - begin);
    sums[g] =
        static_cast<std::int32_t>(kernel.to_u8(x + begin, length, scale, shift, top, out + begin));
  }
}

void int8_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const std::uint8_t* a,
                         std::size_t lda, const std::int8_t* b, std::size_t ldb, std::int32_t* c,
                         std::size_t ldc) {
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t j = 0; j < n; ++j) {
      std::int64_t sum = 0;
      for (std::size_t p = 0; p < k; ++p)
        sum += std::int64_t{a[r * lda + p]} * std::int64_t{b[j * ldb + p]};
      c[r * ldc + j] = static_cast<std::int32_t>(sum);
    }
}

}  // namespace tinyq
