// widen_gemm_lowbit: packing, the table of paths, the walk over tiles, the
// plain C++ kernel and the reference.
#include "core/kernels/widen_gemm_lowbit.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/widen_gemm.hpp"

namespace tinyq {

namespace {

// Field of output lane t (0..7) for input p, in a panel's words (panel_words).
std::uint32_t field(const std::uint32_t* words, int field_bits, std::size_t p, std::size_t t) {
  if (field_bits == 4) return (words[lowbit_word_stride * p] >> (4 * t)) & 15u;
  return (words[lowbit_word_stride * (p / 2)] >> (16 * (p % 2) + 2 * t)) & 3u;
}

constexpr float zero = 0.0f;

// The generic tile: the avx2 kernel's sums in the same order, a lane at a time.
void kernel_generic(std::size_t rows, const float* x, std::size_t ldx, const float* xsums,
                    const LowBitPanels& b, std::size_t panel, std::size_t panels, const float* bias,
                    float* c, std::size_t ldc) {
  const std::size_t cols0 = panel * lowbit_panel_columns;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t q = 0; q < panels; ++q) {
      const std::size_t pn = panel + q;
      const std::uint32_t* words = b.panel_words(pn);
      float total[lowbit_panel_columns];
      lowbit_start_totals(b, pn, bias, 1, lowbit_panel_columns, total);
      for (std::size_t g = 0; g < b.groups; ++g) {
        const std::size_t begin = g * b.group, end = std::min(b.k, begin + b.group);
        float acc[lowbit_panel_columns] = {};
        for (std::size_t p = begin; p < end; ++p)
          for (std::size_t t = 0; t < lowbit_panel_columns; ++t)
            acc[t] +=
                x[r * ldx + p] *
                static_cast<float>(static_cast<std::int32_t>(field(words, b.field_bits(), p, t)) -
                                   b.code_shift);
        const std::size_t at = (pn * b.groups + g) * lowbit_panel_columns;
        lowbit_rescale_group(1, lowbit_panel_columns, acc, b.steps.data() + at,
                             b.offsets.data() + at, 0,
                             b.has_offsets ? xsums + r * b.groups + g : &zero, 0, total);
      }
      for (std::size_t t = 0; t < lowbit_panel_columns; ++t) {
        const std::size_t j = pn * lowbit_panel_columns + t;
        if (j < b.n) c[r * ldc + j - cols0] = total[t];
      }
    }
}

const LowBitKernel& kernel_for(Isa isa) {
  static const IsaTable<LowBitKernel> paths(lowbit_kernel_generic(), lowbit_kernel_avx2(),
                                            lowbit_kernel_avx512());
  require_supported(KernelFamily::widen_gemm, isa);
  return paths[isa];
}

// lowbit_gemm_panels for more rows than one tile, on a path with wide
// tiles: each step of panels has its codes widened to float once, and every
// tile of rows reads them from there. The in-register tile of 6 rows × 2
// panels holds 12 sums, 2 unpacked weight vectors, the broadcast and 3
// unpacking constants: more than AVX2's 16 vector registers, so it spills
// at every input, where the wide tile needs 15.
void lowbit_widen_first(const LowBitKernel& kernel, std::size_t m, const float* x, std::size_t ldx,
                        const float* xsums, const LowBitPanels& b, std::size_t panel_begin,
                        std::size_t panel_end, const float* bias, float* c, std::size_t ldc) {
  const std::size_t tile_rows = kernel.wide_rows;
  const std::size_t tiles = (m + tile_rows - 1) / tile_rows;
  thread_local std::vector<float> packed_x, wide;
  if (kernel.wide_x_packed) pack_rows_side_by_side(m, x, ldx, 0, b.k, tile_rows, packed_x);
  const std::size_t wide_stride = b.k * lowbit_panel_columns;
  for (std::size_t panel = panel_begin; panel < panel_end; panel += kernel.max_panels) {
    const std::size_t panels = std::min(kernel.max_panels, panel_end - panel);
    wide.resize((panels + 1) / 2 * 2 * wide_stride);  // AVX-512 widens panels in pairs
    kernel.widen_panels(b, panel, panels, wide.data(), wide_stride);
    for (std::size_t t = 0; t < tiles; ++t) {
      const std::size_t r = t * tile_rows;
      const float* x_tile =
          kernel.wide_x_packed ? packed_x.data() + t * b.k * tile_rows : x + r * ldx;
      kernel.run_wide(std::min(tile_rows, m - r), x_tile, ldx,
                      b.has_offsets ? xsums + r * b.groups : nullptr, wide.data(), wide_stride, b,
                      panel, panels, bias, c + r * ldc + panel * lowbit_panel_columns, ldc);
    }
  }
}

}  // namespace

LowBitKernel lowbit_kernel_generic() {
  return {4, 1, 1, kernel_generic};
}

LowBitPanels pack_lowbit_panels(std::size_t n, std::size_t k, int bits, std::size_t group,
                                const std::uint8_t* codes, std::size_t ld_codes,
                                std::int32_t code_shift, const float* steps, const float* offsets) {
  if (bits < 2 || bits > 4)
    throw Error("pack_lowbit_panels: bits must be 2, 3 or 4, found " + std::to_string(bits));
  if (group == 0 || (bits == 2 && group < k && group % 2 != 0))
    throw Error("pack_lowbit_panels: group of " + std::to_string(group) + " inputs for " +
                std::to_string(k) + " inputs at " + std::to_string(bits) +
                " bits (expected >= 1, and even when 2-bit groups split a row)");
  LowBitPanels b;
  b.n = n;
  b.k = k;
  b.bits = bits;
  b.group = group;
  b.groups = k == 0 ? 1 : (k + group - 1) / group;
  b.code_shift = code_shift;
  b.words.assign(b.pairs() * 2 * b.words_per_panel(), 0u);
  b.steps.assign(b.panels() * b.groups * lowbit_panel_columns, 0.0f);
  b.offsets.assign(b.steps.size(), 0.0f);
  const int field_bits = b.field_bits();
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t panel = j / lowbit_panel_columns, t = j % lowbit_panel_columns;
    std::uint32_t* words = b.words.data() + b.panel_word_offset(panel);
    for (std::size_t p = 0; p < k; ++p) {
      const std::uint32_t u = codes[j * ld_codes + p];
      if (u >> bits != 0)
        throw Error("pack_lowbit_panels: code " + std::to_string(u) + " at [" + std::to_string(j) +
                    ", " + std::to_string(p) + "] does not fit in " + std::to_string(bits) +
                    " bits");
      if (field_bits == 4)
        words[lowbit_word_stride * p] |= u << (4 * t);
      else
        words[lowbit_word_stride * (p / 2)] |= u << (16 * (p % 2) + 2 * t);
    }
    for (std::size_t g = 0; g < b.groups; ++g) {
      const std::size_t at = (panel * b.groups + g) * lowbit_panel_columns + t;
      b.steps[at] = steps[j * b.groups + g];
      b.offsets[at] = offsets[j * b.groups + g];
      b.has_offsets = b.has_offsets || b.offsets[at] != 0.0f;
    }
  }
  return b;
}

void lowbit_rescale_group(std::size_t rows, std::size_t width, const float* sums,
                          const float* steps, const float* offsets, std::size_t panel_stride,
                          const float* xsums, std::size_t xsum_stride, float* total) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float xsum = xsums[r * xsum_stride];
    for (std::size_t q = 0; q < width / lowbit_panel_columns; ++q) {
      const float* step = steps + q * panel_stride;
      const float* offset = offsets + q * panel_stride;
      const float* sum = sums + r * width + q * lowbit_panel_columns;
      float* out = total + r * width + q * lowbit_panel_columns;
      for (std::size_t t = 0; t < lowbit_panel_columns; ++t)
        out[t] += step[t] * sum[t] + offset[t] * xsum;
    }
  }
}

float interleaved_sum(const float* x, std::size_t n) {
  constexpr std::size_t lanes = 16;
  float partial[lanes] = {};
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (std::size_t l = 0; l < lanes; ++l) partial[l] += x[i + l];
  float total = 0.0f;
  for (; i < n; ++i) total += x[i];
  for (const float p : partial) total += p;
  return total;
}

void lowbit_gemm(Isa isa, std::size_t m, const float* x, std::size_t ldx, const LowBitPanels& b,
                 const float* bias, float* c, std::size_t ldc) {
  lowbit_gemm_panels(isa, m, x, ldx, b, 0, b.panels(), bias, c, ldc);
}

void lowbit_gemm_panels(Isa isa, std::size_t m, const float* x, std::size_t ldx,
                        const LowBitPanels& b, std::size_t panel_begin, std::size_t panel_end,
                        const float* bias, float* c, std::size_t ldc) {
  if (panel_begin > panel_end || panel_end > b.panels())
    throw Error("lowbit_gemm: panels [" + std::to_string(panel_begin) + ", " +
                std::to_string(panel_end) + ") are not within the " + std::to_string(b.panels()) +
                " panels of b");
  const LowBitKernel& kernel = kernel_for(isa);
  // Σ x per row and group, shared by every output (only asymmetric codes need it).
  thread_local std::vector<float> xsums;
  if (b.has_offsets) {
    xsums.assign(m * b.groups, 0.0f);
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t g = 0; g < b.groups; ++g) {
        const std::size_t begin = g * b.group, end = std::min(b.k, begin + b.group);
        xsums[r * b.groups + g] = interleaved_sum(x + r * ldx + begin, end - begin);
      }
  }
  if (kernel.run_wide && m > kernel.max_rows) {
    lowbit_widen_first(kernel, m, x, ldx, xsums.data(), b, panel_begin, panel_end, bias, c, ldc);
    return;
  }
  // One row (batch-1 latency): more panels per tile keep more sums in
  // flight. Rows outermost within a block of panels keeps x's rows and the
  // panels' words in cache together.
  const std::size_t max_panels = m == 1 ? kernel.max_panels_one_row : kernel.max_panels;
  for (std::size_t panel = panel_begin; panel < panel_end; panel += max_panels) {
    const std::size_t panels = std::min(max_panels, panel_end - panel);
    for (std::size_t r = 0; r < m; r += kernel.max_rows)
      kernel.run(std::min(kernel.max_rows, m - r), x + r * ldx, ldx,
                 b.has_offsets ? xsums.data() + r * b.groups : nullptr, b, panel, panels, bias,
                 c + r * ldc + panel * lowbit_panel_columns, ldc);
  }
}

void lowbit_gemm_reference(std::size_t m, const float* x, std::size_t ldx, std::size_t n,
                           std::size_t k, std::size_t group, const std::uint8_t* codes,
                           std::int32_t code_shift, const float* steps, const float* offsets,
                           const float* bias, float* c, std::size_t ldc) {
  const std::size_t groups = (k + group - 1) / group;
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t j = 0; j < n; ++j) {
      double sum = bias[j];
      for (std::size_t p = 0; p < k; ++p) {
        const std::size_t g = p / group;
        const double w = double(codes[j * k + p] - code_shift) * double(steps[j * groups + g]) +
                         double(offsets[j * groups + g]);
        sum += double(x[r * ldx + p]) * w;
      }
      c[r * ldc + j] = static_cast<float>(sum);
    }
}

}  // namespace tinyq
