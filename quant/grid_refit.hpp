// Refitting the grids to the codes: with every code fixed, the scale of each
// block (and the offset of an asymmetric block with no integer zero point)
// that minimizes the layer's output error on calibration data.
//
// A row w rounded to ŵ costs (w - ŵ)ᵀ H (w - ŵ) / 2 in output error
// (H = 2/n · Σ x xᵀ, as GPTQ's). With its codes q fixed, ŵ is linear in the
// grid parameters θ of the row's blocks: in block g, ŵ_c = step_g · (q_c - z_g)
// with the zero point z_g kept (symmetric: z = 0), or offset_g + step_g · q_c
// for an asymmetric grid without one. So ŵ = Φ θ and the best θ solves the
// normal equations (Φᵀ H Φ) θ = Φᵀ H w, a system of one or two unknowns per
// block of the row (rows sharing one tensor grid add theirs up). GPTQ chose
// the codes for grids fitted before (or early in) the pass, on weights the
// pass then moved; refitting the grids to what the pass produced, and running
// the pass again on the refitted grids, lowers the error further. It is the
// codebook update of GPTVQ (van Baalen et al. 2024, "GPTVQ: The Blessing of
// Dimensionality for LLM Quantization") for a uniform grid, where the least
// squares have a closed form.
#pragma once

#include <span>

#include "quant/quantized_matrix.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

// Σ_r (w_r - ŵ_r)ᵀ H (w_r - ŵ_r) for the rows of w [rows, cols] and the
// weights ŵ their codes and grids stand for; H: [cols, cols].
double hessian_error(std::span<const float> w, const QuantizedMatrix& layout,
                     const RoundedMatrix& rounded, std::span<const double> hessian);

// Replaces the grids of `rounded` by the least-squares fit above, for each
// row (each tensor, with one grid) whose error it lowers; a fit that would
// give a step <= 0 or an unusable grid keeps the old grids. Codes are unchanged.
void refit_grids(std::span<const float> w, const QuantizedMatrix& layout, RoundedMatrix& rounded,
                 std::span<const double> hessian);

}  // namespace tinyq
