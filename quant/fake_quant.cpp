// Fake quantization: grids, codes, the STE mask and LSQ's step gradients.
#include "quant/fake_quant.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/thread_pool.hpp"
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

// The rounding passes of round_block (below), apart so that on x86 they can
// also be compiled for AVX2: twice the doubles per instruction, and the very
// same IEEE operations (no FMA is enabled), so the same bits.
struct RoundingPass {
  double offset, levels, range, lowest, highest;
};

[[gnu::always_inline]] inline void round_values_body(const RoundingPass& p,
                                                     std::span<const float> w, double* r,
                                                     double* codes, float* inside) {
  const double below = p.lowest - 1.0, above = p.highest + 1.0;
  constexpr double magic = 6755399441055744.0;  // 1.5 · 2^52
  for (std::size_t i = 0; i < w.size(); ++i) {
    double v = (static_cast<double>(w[i]) - p.offset) * p.levels / p.range;
    v = v < below ? below : (v > above ? above : v);
    const double even = (v + magic) - magic;
    const double half = v - even;
    // As arithmetic, not a select, so it vectorizes; away - even is 0 or ±1.
    const double tie = std::fabs(half) == 0.5 ? 1.0 : 0.0;
    r[i] = even + tie * ((v + std::copysign(0.5, v)) - even);
  }
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double q = r[i] < p.lowest ? p.lowest : (r[i] > p.highest ? p.highest : r[i]);
    codes[i] = q;
    inside[i] = q == r[i] ? 1.0f : 0.0f;
  }
}

void round_values(const RoundingPass& p, std::span<const float> w, double* r, double* codes,
                  float* inside) {
  round_values_body(p, w, r, codes, inside);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TINYQ_ROUND_AVX2 1
[[gnu::target("avx2")]] void round_values_avx2(const RoundingPass& p, std::span<const float> w,
                                               double* r, double* codes, float* inside) {
  round_values_body(p, w, r, codes, inside);
}
#else
#define TINYQ_ROUND_AVX2 0
#endif

// One block: codes q = clamp(round(v)) for v = (w - offset) · levels / range
// as nearest_code computes it, the STE mask, and w_q as dequantize computes
// it, all in double so every step is exact or rounds as there. Written in
// passes the compiler vectorizes (std::round is a library call, and a loop
// mixing float, double and int does not vectorize):
//   round half to even by adding and subtracting 1.5 · 2^52 (exact for
//   |v| < 2^51; v is first clamped to one step beyond the code range, which
//   changes neither the code nor whether it was clipped), then a halfway
//   case (v - even = ±0.5, exact) moved away from zero, as std::round does.
// w_q takes one of the few values `dequantized` gives the codes; a block
// with more weights than codes looks them up in a table of those values
// instead of dividing once per weight.
template <class Dequantized>
void round_block(std::span<const float> w, const BlockGrid& grid, double lowest, double highest,
                 const Dequantized& dequantized, std::span<double> codes, std::span<float> inside,
                 std::span<float> w_q) {
  thread_local std::vector<double> rounded;
  rounded.resize(w.size());
  const RoundingPass pass{grid.offset, grid.levels, grid.range, lowest, highest};
#if TINYQ_ROUND_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2)
    round_values_avx2(pass, w, rounded.data(), codes.data(), inside.data());
  else
#endif
    round_values(pass, w, rounded.data(), codes.data(), inside.data());
  std::array<float, 256> table;
  const auto count = static_cast<std::size_t>(highest - lowest) + 1;
  if (w.size() <= count || count > table.size()) {
    for (std::size_t i = 0; i < w.size(); ++i) w_q[i] = dequantized(codes[i]);
    return;
  }
  for (std::size_t k = 0; k < count; ++k) table[k] = dequantized(lowest + static_cast<double>(k));
  for (std::size_t i = 0; i < w.size(); ++i)
    w_q[i] = table[static_cast<std::size_t>(codes[i] - lowest)];
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
        std::fill(block_codes.begin(), block_codes.end(), 0.0);
        std::fill(block_inside.begin(), block_inside.end(), 1.0f);
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
    for (std::size_t i = begin; i < end; ++i) grad_w[i] = fq.inside[i] * grad_wq[i];
  });
}

namespace {

// Each weight's terms of its block's LSQ sums, in a pass that vectorizes:
//   step:   grad · (q - v) inside,  grad · q where clipped
//   offset: 0 inside,               grad where clipped
// Summed in weight order afterwards, they give the bits of a plain loop
// that adds only the clipped weights' gradients to the offset's sum.
[[gnu::always_inline]] inline void lsq_terms_body(std::span<const float> w,
                                                  std::span<const float> grad_wq,
                                                  std::span<const double> codes,
                                                  std::span<const float> inside,
                                                  const BlockGrid& grid, double* step_terms,
                                                  double* offset_terms) {
  const double step = grid.range / grid.levels, offset = grid.offset;
  // Selects written as arithmetic so the loop vectorizes. inside is 1 or 0,
  // so in · x + (1 - in) · y is x or y exactly, but for the sign of a zero,
  // which no sum can see: the sums start at +0.0, and x + ±0 = x for x != 0.
  const auto terms = [&](auto step_positive) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double q = codes[i], grad = grad_wq[i], in = inside[i];
      const double v = step_positive ? (static_cast<double>(w[i]) - offset) / step : 0.0;
      step_terms[i] = in * (grad * (q - v)) + (1.0 - in) * (grad * q);
      offset_terms[i] = (1.0 - in) * grad;
    }
  };
  if (step > 0.0)
    terms(std::true_type{});
  else
    terms(std::false_type{});
}

#if TINYQ_ROUND_AVX2
[[gnu::target("avx2")]] void lsq_terms_avx2(std::span<const float> w,
                                            std::span<const float> grad_wq,
                                            std::span<const double> codes,
                                            std::span<const float> inside, const BlockGrid& grid,
                                            double* step_terms, double* offset_terms) {
  lsq_terms_body(w, grad_wq, codes, inside, grid, step_terms, offset_terms);
}
#endif

void lsq_terms(std::span<const float> w, std::span<const float> grad_wq,
               std::span<const double> codes, std::span<const float> inside, const BlockGrid& grid,
               double* step_terms, double* offset_terms) {
#if TINYQ_ROUND_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return lsq_terms_avx2(w, grad_wq, codes, inside, grid, step_terms, offset_terms);
#endif
  lsq_terms_body(w, grad_wq, codes, inside, grid, step_terms, offset_terms);
}

struct Run {
  std::size_t begin, length, block;
};

}  // namespace

void learned_scale_gradients(std::span<const float> w, std::span<const float> grad_wq,
                             const QuantizedMatrix& layout, const FakeQuantized& fq,
                             std::span<float> grad_step, std::span<float> grad_offset) {
  const double q_p = highest_code(layout.format.scheme, layout.format.bits);
  const std::span<const double> codes = fq.codes;
  const std::span<const float> inside = fq.inside;
  // Terms of the runs [begin, begin + length) of the matrix, then each
  // block's sums in weight order, as a plain loop over the block would add
  // them. Four blocks of one length are summed side by side: eight
  // independent chains of additions instead of two.
  const auto sum_runs = [&](std::span<const Run> runs, std::size_t first, std::size_t size) {
    thread_local std::vector<double> step_terms, offset_terms;
    step_terms.resize(size);
    offset_terms.resize(size);
    for (const Run& run : runs)
      lsq_terms(w.subspan(run.begin, run.length), grad_wq.subspan(run.begin, run.length),
                codes.subspan(run.begin, run.length), inside.subspan(run.begin, run.length),
                fq.grids[run.block], step_terms.data() + (run.begin - first),
                offset_terms.data() + (run.begin - first));
    const auto finish = [&](const Run& run, double d_step, double d_offset) {
      const double g = 1.0 / std::sqrt(static_cast<double>(run.length) * q_p);
      grad_step[run.block] = static_cast<float>(g * d_step);
      if (!grad_offset.empty()) grad_offset[run.block] = static_cast<float>(g * d_offset);
    };
    std::size_t k = 0;
    for (; k + 4 <= runs.size(); k += 4) {
      const std::size_t length = runs[k].length;
      if (runs[k + 1].length != length || runs[k + 2].length != length ||
          runs[k + 3].length != length)
        break;
      const double* s[4];
      const double* o[4];
      for (std::size_t j = 0; j < 4; ++j) {
        s[j] = step_terms.data() + (runs[k + j].begin - first);
        o[j] = offset_terms.data() + (runs[k + j].begin - first);
      }
      double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, o0 = 0.0, o1 = 0.0, o2 = 0.0, o3 = 0.0;
      for (std::size_t i = 0; i < length; ++i) {
        s0 += s[0][i], s1 += s[1][i], s2 += s[2][i], s3 += s[3][i];
        o0 += o[0][i], o1 += o[1][i], o2 += o[2][i], o3 += o[3][i];
      }
      finish(runs[k], s0, o0), finish(runs[k + 1], s1, o1);
      finish(runs[k + 2], s2, o2), finish(runs[k + 3], s3, o3);
    }
    for (; k < runs.size(); ++k) {
      double d_step = 0.0, d_offset = 0.0;
      const double* st = step_terms.data() + (runs[k].begin - first);
      const double* ot = offset_terms.data() + (runs[k].begin - first);
      for (std::size_t i = 0; i < runs[k].length; ++i) d_step += st[i], d_offset += ot[i];
      finish(runs[k], d_step, d_offset);
    }
  };
  if (layout.format.granularity == Granularity::tensor) {
    const Run whole{0, w.size(), 0};
    sum_runs(std::span(&whole, 1), 0, w.size());
    return;
  }
  parallel_for(layout.rows, row_grain(layout.cols), [&](std::size_t r0, std::size_t r1) {
    thread_local std::vector<Run> runs;
    runs.clear();
    for_runs(layout, r0, r1, [&](std::size_t begin, std::size_t length, std::size_t block) {
      runs.push_back({begin, length, block});
    });
    sum_runs(runs, r0 * layout.cols, (r1 - r0) * layout.cols);
  });
}

}  // namespace tinyq
