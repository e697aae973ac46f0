// lowbit_int_gemm: packing, the path table, the generic kernel and the
// double reference. The AVX2 and AVX-512 kernels are in
// lowbit_int_gemm_avx2.cpp and lowbit_int_gemm_avx512.cpp.
#include "core/kernels/lowbit_int_gemm.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/kernels/lowbit_int_gemm_kernels.hpp"

namespace tinyq {

namespace {

// Where the code of output j, input p lives: byte and shift.
struct FieldPlace {
  std::size_t byte;
  int shift;
};

FieldPlace field_place(const LowBitIntPanels& b, std::size_t j, std::size_t p) {
  const std::size_t column = j % 16, half = column / 8, lane = column % 8;
  const std::size_t k_group = p / 4, word = k_group / b.k_groups_per_word();
  const std::size_t field = (k_group % b.k_groups_per_word()) * 2 + half;
  return {(j / 16) * b.panel_bytes() + word * 32 + lane * 4 + p % 4,
          static_cast<int>(field) * b.field_bits()};
}

std::uint32_t code_at(const LowBitIntPanels& b, std::size_t j, std::size_t p) {
  const FieldPlace place = field_place(b, j, p);
  return (b.codes[place.byte] >> place.shift) & ((1u << b.field_bits()) - 1);
}

}  // namespace

LowBitIntPanels pack_lowbit_int_panels(std::size_t n, std::size_t k, int bits, std::size_t group,
                                       const std::uint8_t* codes, std::size_t ld_codes,
                                       const float* steps, const float* offsets) {
  if (bits < 2 || bits > 4)
    throw Error("pack_lowbit_int_panels: bits must be 2, 3 or 4, found " + std::to_string(bits));
  if (n == 0 || k == 0 || group == 0) throw Error("pack_lowbit_int_panels: empty matrix or group");
  LowBitIntPanels b;
  b.n = n;
  b.k = k;
  b.bits = bits;
  b.group = std::min(group, k);
  const std::size_t word_inputs = 4 * b.k_groups_per_word();
  if (b.group < k && b.group % word_inputs != 0)
    throw Error("pack_lowbit_int_panels: groups of " + std::to_string(group) +
                " inputs must be a multiple of " + std::to_string(word_inputs) + " at " +
                std::to_string(bits) + " bits");
  b.groups = (k + b.group - 1) / b.group;
  b.k_groups = (k + word_inputs - 1) / word_inputs * b.k_groups_per_word();
  b.codes.assign(b.panels() * b.panel_bytes(), 0);
  const std::size_t slots = b.panels() * b.groups * 16;
  b.steps.assign(slots, 0.0f);
  b.offsets.assign(slots, 0.0f);
  b.zero_terms.assign(b.panels() * 16, 0.0f);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t g = 0; g < b.groups; ++g) {
      std::uint32_t code_sum = 0;
      for (std::size_t p = g * b.group; p < std::min(k, (g + 1) * b.group); ++p) {
        const std::uint32_t u = codes[j * ld_codes + p];
        if (u >= (1u << bits))
          throw Error("pack_lowbit_int_panels: code " + std::to_string(u) + " at [" +
                      std::to_string(j) + ", " + std::to_string(p) + "] does not fit " +
                      std::to_string(bits) + " bits");
        const FieldPlace place = field_place(b, j, p);
        b.codes[place.byte] = static_cast<std::uint8_t>(b.codes[place.byte] | (u << place.shift));
        code_sum += u;
      }
      const std::size_t slot = ((j / 16) * b.groups + g) * 16 + j % 16;
      b.steps[slot] = steps[j * b.groups + g];
      b.offsets[slot] = offsets[j * b.groups + g];
      const std::size_t length = std::min(k, (g + 1) * b.group) - g * b.group;
      b.zero_terms[(j / 16) * 16 + j % 16] += b.steps[slot] * static_cast<float>(code_sum) +
                                              b.offsets[slot] * static_cast<float>(length);
    }
  return b;
}

// One output at a time, the codes read back from the packed bytes: the
// same formula as the avx2 kernel, group by group, without fused products.
void lowbit_int_gemm_generic(const U7Rows& x, const LowBitIntPanels& b, std::size_t panel_begin,
                             std::size_t panel_end, const float* bias, float* c, std::size_t ldc) {
  const std::size_t j_begin = panel_begin * 16, j_end = std::min(b.n, panel_end * 16);
  for (std::size_t r = 0; r < x.m; ++r) {
    const std::uint8_t* a = x.a + r * x.lda;
    const float d = x.steps[r];
    const float zero_d = static_cast<float>(x.zero_points[r]) * d;
    for (std::size_t j = j_begin; j < j_end; ++j) {
      float sum = 0.0f;
      for (std::size_t g = 0; g < b.groups; ++g) {
        std::int32_t s = 0;
        for (std::size_t p = g * b.group; p < std::min(b.k, (g + 1) * b.group); ++p)
          s += static_cast<std::int32_t>(a[p] * code_at(b, j, p));
        const std::size_t slot = ((j / 16) * b.groups + g) * 16 + j % 16;
        sum += static_cast<float>(s) * b.steps[slot];
        sum += b.offsets[slot] * static_cast<float>(x.group_sums[r * b.groups + g]);
      }
      const float y = (bias != nullptr ? bias[j] : 0.0f) + sum * d;
      c[r * ldc + j] = y - b.zero_terms[(j / 16) * 16 + j % 16] * zero_d;
    }
  }
}

void run_lowbit_tiles(std::span<const LowBitTileFunction> tiles,
                      std::span<const LowBitTileFunction> pair_tiles, ListNonzeroFunction list,
                      double row_cost, const U7Rows& x, const LowBitIntPanels& b,
                      std::size_t panel_begin, std::size_t panel_end, const float* bias, float* c,
                      std::size_t ldc) {
  const std::size_t groups = b.k_groups, tile_rows = tiles.size();
  thread_local BlockLists lists;
  list_block(list, x.a, x.lda, x.m, tile_rows, 0, groups, row_cost, lists);
  for (std::size_t panel = panel_begin; panel < panel_end;) {
    const bool pair = !pair_tiles.empty() && panel + 1 < panel_end;
    const std::span<const LowBitTileFunction> run = pair ? pair_tiles : tiles;
    if (lists.by_rows)
      for (std::size_t row = 0; row < x.m; ++row)
        run[0](x, row, lists.rows.data() + row * groups, lists.row_counts[row], b, panel, bias, c,
               ldc);
    else
      for (std::size_t t = 0; t * tile_rows < x.m; ++t) {
        const std::size_t row = t * tile_rows;
        run[std::min(tile_rows, x.m - row) - 1](x, row, lists.tiles.data() + t * groups,
                                                lists.tile_counts[t], b, panel, bias, c, ldc);
      }
    panel += pair ? 2 : 1;
  }
}

void lowbit_int_gemm_panels(Isa isa, const U7Rows& x, const LowBitIntPanels& b,
                            std::size_t panel_begin, std::size_t panel_end, const float* bias,
                            float* c, std::size_t ldc) {
  static const IsaTable<LowBitIntKernel> paths(lowbit_int_gemm_generic, lowbit_int_kernel_avx2(),
                                               lowbit_int_kernel_avx512());
  require_supported(KernelFamily::int8_gemm, isa);
  if (x.m > 0 && (x.lda < b.padded_k() || ldc < b.n))
    throw Error("lowbit_int_gemm: row strides " + std::to_string(x.lda) + " and " +
                std::to_string(ldc) + " must be at least " + std::to_string(b.padded_k()) +
                " and " + std::to_string(b.n));
  if (panel_begin > panel_end || panel_end > b.panels())
    throw Error("lowbit_int_gemm: panels [" + std::to_string(panel_begin) + ", " +
                std::to_string(panel_end) + ") outside the " + std::to_string(b.panels()) +
                " there are");
  paths[isa](x, b, panel_begin, panel_end, bias, c, ldc);
}

void lowbit_int_gemm(Isa isa, const U7Rows& x, const LowBitIntPanels& b, const float* bias,
                     float* c, std::size_t ldc) {
  lowbit_int_gemm_panels(isa, x, b, 0, b.panels(), bias, c, ldc);
}

void lowbit_int_gemm_reference(const U7Rows& x, std::size_t n, std::size_t k, std::size_t group,
                               const std::uint8_t* codes, std::size_t ld_codes, const float* steps,
                               const float* offsets, const float* bias, double* c,
                               std::size_t ldc) {
  group = std::min(group, k);
  const std::size_t groups = (k + group - 1) / group;
  for (std::size_t r = 0; r < x.m; ++r)
    for (std::size_t j = 0; j < n; ++j) {
      double y = bias != nullptr ? bias[j] : 0.0;
      for (std::size_t p = 0; p < k; ++p) {
        const std::size_t g = p / group;
        const double w =
            static_cast<double>(codes[j * ld_codes + p]) * double{steps[j * groups + g]} +
            double{offsets[j * groups + g]};
        y += double{x.steps[r]} * (static_cast<double>(x.a[r * x.lda + p]) - x.zero_points[r]) * w;
      }
      c[r * ldc + j] = y;
    }
}

}  // namespace tinyq
