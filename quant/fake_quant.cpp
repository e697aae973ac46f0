// Fake quantization: grids, codes, the STE mask and LSQ's step gradients.
#include "quant/fake_quant.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <vector>

#include "core/kernels/isa.hpp"
#include "core/thread_pool.hpp"
#include "quant/fake_quant_kernels.hpp"
#include "quant/quantize.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

namespace {

// Weights per parallel chunk: these passes take about a nanosecond per
// weight, so a chunk needs tens of thousands to pay for waking a worker
// (and for the wait when a busy machine is slow to run it). The MLP's first
// layer is split; its smaller layers are not.
constexpr std::size_t weight_grain = 32768;

std::size_t row_grain(std::size_t cols) {
  return std::max<std::size_t>(1, weight_grain / std::max<std::size_t>(1, cols));
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
  // Grids with 0 as a level are stored with integer zero points and come
  // back as (q - z) / s (quant/quantize.hpp): W_q must be those floats too,
  // but only when every block's grid has one. So that each chunk of rows
  // reads its weights once, in one parallel pass, a chunk chooses its grids
  // and rounds at once, by what its own grids say. Should some chunks have
  // zero points and others not, the former's W_q is computed again from
  // their codes (which do not depend on it) without zero points.
  const bool tensor = layout.format.granularity == Granularity::tensor;
  std::vector<std::uint8_t> tensor_zero_point;
  if (tensor) {
    out.grids[0] = grid_of(w, 0);
    tensor_zero_point = exact_zero_points(out.grids, scheme);
  }
  const auto round_run = [&](std::size_t begin, std::size_t length, std::size_t block,
                             const std::uint8_t* zero_point, bool codes_known) {
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
    const auto round = [&](const auto& dequantized) {
      if (codes_known)
        for (std::size_t i = 0; i < length; ++i) block_w_q[i] = dequantized(block_codes[i]);
      else
        round_block(w.subspan(begin, length), grid, lowest, highest, dequantized, block_codes,
                    block_inside, block_w_q);
    };
    if (zero_point) {
      const double z = *zero_point;
      round([scale, z](double q) { return static_cast<float>((q - z) / scale); });
    } else {
      // dequantize's expression; + 0.0 for symmetric blocks changes nothing.
      const double block_offset = scheme == Scheme::asymmetric ? stored.offset : 0.0;
      round(
          [scale, block_offset](double q) { return static_cast<float>(q / scale + block_offset); });
    }
  };
  std::atomic<bool> with_zero_points{false}, without_zero_points{false};
  const std::size_t runs = layout.runs_per_row();
  parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
    std::vector<std::uint8_t> zero_points = tensor_zero_point;
    if (!tensor) {
      for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
        out.grids[block] = grid_of(w.subspan(begin, length), block);
      });
      zero_points =
          exact_zero_points(std::span(out.grids).subspan(r0 * runs, (r1 - r0) * runs), scheme);
    }
    (zero_points.empty() ? without_zero_points : with_zero_points) = true;
    for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
      round_run(begin, length, block,
                zero_points.empty() ? nullptr : &zero_points[tensor ? 0 : block - r0 * runs],
                false);
    });
  });
  if (with_zero_points && without_zero_points)
    for_runs(layout, 0, layout.rows, [&](std::size_t begin, std::size_t length, std::size_t block) {
      round_run(begin, length, block, nullptr, true);
    });
}

void straight_through(std::span<const float> grad_wq, const FakeQuantized& fq,
                      std::span<float> grad_w) {
  parallel_for(grad_w.size(), weight_grain, [&](std::size_t begin, std::size_t end) {
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
                             std::span<float> grad_w, std::span<float> grad_step,
                             std::span<float> grad_offset) {
  const double q_p = highest_code(layout.format.scheme, layout.format.bits);
  const auto lsq_sums = kernels().lsq_sums;
  // Up to four blocks of one length at a time: the AVX2 loop sums four side
  // by side, each in weight order, as a plain loop over the block would.
  const auto sum_runs = [&](std::span<const Run> runs) {
    for (std::size_t k = 0, n = 0; k < runs.size(); k += n) {
      const std::size_t length = runs[k].length;
      for (n = 1; n < 4 && k + n < runs.size() && runs[k + n].length == length;) ++n;
      std::array<LsqRun, 4> batch;
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t begin = runs[k + j].begin;
        const BlockGrid& grid = fq.grids[runs[k + j].block];
        batch[j] = {w.data() + begin,         grad_wq.data() + begin, fq.codes.data() + begin,
                    fq.inside.data() + begin, grad_w.data() + begin,  grid.offset,
                    grid.range / grid.levels};
      }
      std::array<double, 4> d_step, d_offset;
      lsq_sums(std::span(batch.data(), n), length, !grad_offset.empty(), d_step.data(),
               d_offset.data());
      for (std::size_t j = 0; j < n; ++j) {
        const Run& run = runs[k + j];
        const double g = 1.0 / std::sqrt(static_cast<double>(run.length) * q_p);
        grad_step[run.block] = static_cast<float>(g * d_step[j]);
        if (!grad_offset.empty()) grad_offset[run.block] = static_cast<float>(g * d_offset[j]);
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
