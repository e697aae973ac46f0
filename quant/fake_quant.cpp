// Fake quantization: grids, codes, the STE mask and LSQ's step gradients.
#include "quant/fake_quant.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/kernels/isa.hpp"
#include "core/thread_pool.hpp"
#include "quant/fake_quant_kernels.hpp"
#include "quant/quantize.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

namespace {

// Rows per parallel chunk: a few thousand weights, enough to pay for a wake-up.
std::size_t row_grain(std::size_t cols) {
  return std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, cols));
}

// Calls visit(begin, length, block) for the runs of rows [r0, r1).
template <class Visit>
void for_runs(const QuantizedMatrix& layout, std::size_t r0, std::size_t r1, Visit visit) {
  const std::size_t step = layout.block_columns();
  for (std::size_t r = r0; r < r1; ++r)
    for (std::size_t run = 0, begin = 0; run < layout.runs_per_row(); ++run, begin += step)
      visit(r * layout.cols + begin, std::min(step, layout.cols - begin),
            layout.block_index(r, run));
}

// The loops of the instruction set the float products use (AVX-512 CPUs
// run the AVX2 loops); TINYQ_ISA=generic forces the portable ones.
const FakeQuantKernels& kernels() {
  static const IsaTable<FakeQuantKernels> table(
      fake_quant_kernels_generic(), fake_quant_kernels_avx2(), fake_quant_kernels_avx2());
  return table[active_isa(KernelFamily::gemm)];
}

// One block: codes and STE mask (quant/fake_quant_kernels.hpp), and w_q as
// `dequantized` computes it from the code. w_q takes one of the few values
// `dequantized` gives the codes; a block with more weights than codes looks
// them up in a table of those values instead of dividing once per weight.
template <class Dequantized>
void round_block(std::span<const float> w, const BlockGrid& grid, double lowest, double highest,
                 const Dequantized& dequantized, std::span<std::int16_t> codes,
                 std::span<std::uint8_t> inside, std::span<float> w_q) {
  std::array<float, 256> table;
  const auto count = static_cast<std::size_t>(highest - lowest) + 1;
  const bool use_table = w.size() > count && count <= table.size();
  if (use_table)
    for (std::size_t k = 0; k < count; ++k) table[k] = dequantized(lowest + static_cast<double>(k));
  const BlockRounding block{
      grid.offset,
      grid.levels,
      grid.range,
      lowest,
      highest,
      use_table ? std::span<const float>(table.data(), count) : std::span<const float>()};
  kernels().round(block, w, codes.data(), inside.data(), w_q.data());
  if (!use_table)
    for (std::size_t i = 0; i < w.size(); ++i) w_q[i] = dequantized(codes[i]);
}

}  // namespace

void fake_quantize(std::span<const float> w, const QuantizedMatrix& layout,
                   const BlockGridFunction& grid_of, FakeQuantized& out, std::span<float> w_q) {
  const Scheme scheme = layout.format.scheme;
  const int bits = layout.format.bits;
  const double lowest = lowest_code(scheme, bits), highest = highest_code(scheme, bits);
  out.codes.resize(w.size());
  out.inside.resize(w.size());
  out.grids.resize(layout.block_count());
  // The grids first: whether W_q uses integer zero points depends on all of them.
  if (layout.format.granularity == Granularity::tensor)
    out.grids[0] = grid_of(w, 0);
  else
    parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
      for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
        out.grids[block] = grid_of(w.subspan(begin, length), block);
      });
    });
  // Grids with 0 as a level are stored with integer zero points and come
  // back as (q - z) / s (quant/quantize.hpp): W_q must be those floats too.
  const std::vector<std::uint8_t> zero_points = exact_zero_points(out.grids, scheme);

  parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
    for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
      const BlockGrid& grid = out.grids[block];
      const BlockScale stored = grid.stored();
      const auto block_w_q = w_q.subspan(begin, length);
      const auto block_codes = std::span(out.codes).subspan(begin, length);
      const auto block_inside = std::span(out.inside).subspan(begin, length);
      if (!grid.usable()) {  // nearest_code's degenerate case: code 0, nothing clipped
        std::fill(block_codes.begin(), block_codes.end(), std::int16_t{0});
        std::fill(block_inside.begin(), block_inside.end(), std::uint8_t{1});
        std::fill(block_w_q.begin(), block_w_q.end(),
                  scheme == Scheme::asymmetric ? static_cast<float>(0.0 + stored.offset) : 0.0f);
        return;
      }
      const double scale = stored.scale;
      if (!zero_points.empty()) {
        const double z = zero_points[block];
        round_block(
            w.subspan(begin, length), grid, lowest, highest,
            [scale, z](double q) { return static_cast<float>((q - z) / scale); }, block_codes,
            block_inside, block_w_q);
      } else {
        // dequantize's expression; + 0.0 for symmetric blocks changes nothing.
        const double block_offset = scheme == Scheme::asymmetric ? stored.offset : 0.0;
        round_block(
            w.subspan(begin, length), grid, lowest, highest,
            [scale, block_offset](double q) {
              return static_cast<float>(q / scale + block_offset);
            },
            block_codes, block_inside, block_w_q);
      }
    });
  });
}

void straight_through(std::span<const float> grad_wq, const FakeQuantized& fq,
                      std::span<float> grad_w) {
  parallel_for(grad_w.size(), 4096, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      grad_w[i] = static_cast<float>(fq.inside[i]) * grad_wq[i];
  });
}

namespace {

struct Run {
  std::size_t begin, length, block;
};

}  // namespace

void learned_scale_gradients(std::span<const float> w, std::span<const float> grad_wq,
                             const QuantizedMatrix& layout, const FakeQuantized& fq,
                             std::span<float> grad_step, std::span<float> grad_offset) {
  const double q_p = highest_code(layout.format.scheme, layout.format.bits);
  const std::int16_t* codes = fq.codes.data();
  const std::uint8_t* inside = fq.inside.data();
  const auto lsq_terms = kernels().lsq_terms;
  // Each block's terms, then its sums in weight order, as a plain loop over
  // the block would add them. Up to four blocks of one length at a time, so
  // their terms stay in cache, and four are summed side by side: eight
  // independent chains of additions instead of two.
  const auto sum_runs = [&](std::span<const Run> runs) {
    thread_local std::vector<double> step_terms, offset_terms;
    const auto finish = [&](const Run& run, double d_step, double d_offset) {
      const double g = 1.0 / std::sqrt(static_cast<double>(run.length) * q_p);
      grad_step[run.block] = static_cast<float>(g * d_step);
      if (!grad_offset.empty()) grad_offset[run.block] = static_cast<float>(g * d_offset);
    };
    for (std::size_t k = 0, n = 0; k < runs.size(); k += n) {
      const std::size_t length = runs[k].length;
      for (n = 1; n < 4 && k + n < runs.size() && runs[k + n].length == length;) ++n;
      if (step_terms.size() < n * length) {
        step_terms.resize(n * length);
        offset_terms.resize(n * length);
      }
      const double* s[4];
      const double* o[4];
      for (std::size_t j = 0; j < n; ++j) {
        const Run& run = runs[k + j];
        const BlockGrid& grid = fq.grids[run.block];
        s[j] = step_terms.data() + j * length;
        o[j] = offset_terms.data() + j * length;
        lsq_terms({grid.offset, grid.range / grid.levels}, w.subspan(run.begin, length),
                  grad_wq.subspan(run.begin, length), codes + run.begin, inside + run.begin,
                  step_terms.data() + j * length, offset_terms.data() + j * length);
      }
      if (n == 4) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, o0 = 0.0, o1 = 0.0, o2 = 0.0, o3 = 0.0;
        for (std::size_t i = 0; i < length; ++i) {
          s0 += s[0][i], s1 += s[1][i], s2 += s[2][i], s3 += s[3][i];
          o0 += o[0][i], o1 += o[1][i], o2 += o[2][i], o3 += o[3][i];
        }
        finish(runs[k], s0, o0), finish(runs[k + 1], s1, o1);
        finish(runs[k + 2], s2, o2), finish(runs[k + 3], s3, o3);
        continue;
      }
      for (std::size_t j = 0; j < n; ++j) {
        double d_step = 0.0, d_offset = 0.0;
        for (std::size_t i = 0; i < length; ++i) d_step += s[j][i], d_offset += o[j][i];
        finish(runs[k + j], d_step, d_offset);
      }
    }
  };
  if (layout.format.granularity == Granularity::tensor) {
    const Run whole{0, w.size(), 0};
    sum_runs(std::span(&whole, 1));
    return;
  }
  parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
    thread_local std::vector<Run> runs;
    runs.clear();
    for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
      runs.push_back({begin, length, block});
    });
    sum_runs(runs);
  });
}

}  // namespace tinyq
