// GPTQ rounding (Frantar et al. 2022, "GPTQ: Accurate Post-Training
// Quantization for Generative Pre-trained Transformers", after Optimal Brain
// Quantization).
//
// A Dense layer's output error on calibration inputs X [n, in] for a row w
// rounded to w' is (w - w')ᵀ H (w - w') / 2 with H = 2/n · Σ x xᵀ. Rounding
// each weight alone ignores that the errors of a row add up in its output;
// GPTQ rounds one input column at a time and moves each column's error onto
// the columns not yet rounded, where it hurts least (the derivation is beside
// the loop in gptq.cpp). Every row uses the same H, so the work is one
// factorization per layer and a sweep of cheap row updates.
//
// Details, as in the reference implementation:
//  - dead inputs (H_cc = 0, never nonzero on the data) get H_cc = 1 and their
//    weights 0: they cannot matter, and the factorization needs H_cc > 0;
//  - damping: λ = damp · mean(diag H) is added to the diagonal (H is often
//    near singular); if the Cholesky factorization still fails, damp is
//    raised tenfold (a note on stderr) until it succeeds;
//  - act-order: columns in order of decreasing H_cc (the inputs that matter
//    most first, while there are many columns left to absorb their error),
//    with static groups: every group's grid fitted on the original order
//    before the pass. Without act-order a group's grid is fitted when the
//    pass reaches the group's first column, on the weights as updated so far;
//  - lazy blocks: the error of a block of 128 columns (or one group, if
//    larger) goes onto the later columns in one update after the block.
// Optionally (refits, not in the reference implementation) the grids are
// then refitted to the codes by least output error and the pass run again on
// them (quant/grid_refit.hpp).
// Rows are independent, so they run in parallel with identical results at
// any thread count.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

struct GptqOptions {
  double damp = 0.01;  // fraction of the mean diagonal of H added to it
  bool act_order = false;
  std::size_t block_columns = 128;
  // Rounds of refitting every grid to the codes by least output error and
  // passing again on the refitted grids (quant/grid_refit.hpp), kept while
  // the output error (w - ŵ)ᵀ H (w - ŵ) falls. 0: GPTQ as published.
  std::size_t refits = 0;
};

// H = 2/n · Xᵀ X for inputs X [n, in], row-major [in, in], in double.
std::vector<double> gptq_hessian(const Tensor& inputs);

// dᵀ H d for one row's weight error d (H: [n, n], row-major, d: [n]): the
// output error that GPTQ, its grid refits and AWQ's α search all minimize.
// Terms of a zero d_i are skipped (exactly rounded weights cost nothing).
double quadratic_error(std::span<const double> h, std::span<const double> d);

// The upper Cholesky factor U of (H + λI)⁻¹ = Uᵀ U, row-major [n, n], and the
// damp it took. H: [n, n] symmetric, with a positive diagonal.
struct InverseFactor {
  std::vector<double> upper;
  double damp = 0.0;
};
InverseFactor inverse_cholesky_upper(std::vector<double> hessian, std::size_t n, double damp);

// GPTQ on one matrix w [rows, cols] with the given H [cols, cols].
RoundedMatrix gptq_round(std::span<const float> w, const QuantizedMatrix& layout,
                         const GridChooser& choose_grid, std::span<const float> column_importance,
                         std::span<const double> hessian, const GptqOptions& options);

// A Rounder for a layer whose calibration inputs are `layer_inputs` [n, in]
// (H computed once, here).
Rounder gptq_rounder(const Tensor& layer_inputs, const GptqOptions& options);

}  // namespace tinyq
