// A grid chosen by searching: the scale (and, asymmetric, the zero point)
// whose grid fits the block best.
//
// Min-max spends the grid on the extremes: at 2 bits a symmetric grid has
// the levels -r, 0, r with r = max |w|, so every weight under r/2 rounds to
// 0 and most of a bell-shaped row is lost. Clipping the range trades a larger
// error on the few outliers (they clamp to the end levels) for a finer grid
// everywhere else.
//
// search_grid minimizes the weighted squared error Σ a_i (w_i - w'_i)² of
// the block rounded to nearest, with llama.cpp's weights (ggml-quants.c):
//   without data  a_i = σ² + w_i²,              σ² = mean of w² over the block;
//   with data     a_i = E[x_i²] · sqrt(σ² + w_i²),
// E[x_i²] being the importance of the input weight i multiplies (the
// squared error a block adds to a neuron's output, were the inputs
// uncorrelated). The w_i² term makes the large weights, which carry most of
// a neuron's output, count more than their share: with plain a_i = 1 the
// least-error 2-bit symmetric grids clip so hard that Fashion-MNIST falls to
// 73% per channel; with σ² + w_i² it keeps 82.6% (min-max: 35.8%).
// Candidates:
//  - ranges from the full one down to 20% of it, in steps of 1%, and for a
//    symmetric grid also max |w| · L / (L + 1/2) (top level half a step
//    inside the largest weight); an asymmetric range shrinks around the
//    middle of [min(min, 0), max(max, 0)] and its integer zero point z is
//    tried at the nearest whole step and one step either side, so 0 stays a
//    level (quant/grid.hpp, zero-exact);
//  - each candidate refined once by least squares: with its codes q fixed,
//    w ≈ (q - z) · step is best at step = Σ a w (q - z) / Σ a (q - z)².
// The first least error wins (so ties go to the wider range).
#pragma once

#include <span>

#include "quant/grid.hpp"

namespace tinyq {

// importance: empty, or E[x_i²] >= 0 per entry of block.
BlockGrid search_grid(std::span<const float> block, std::span<const float> importance,
                      Scheme scheme, int bits);

// Σ a_i (w_i - w'_i)² for the block rounded to nearest on `grid`, with the
// weights a_i given (a_i = 1 when `weights` is empty).
double squared_error(std::span<const float> block, const BlockGrid& grid, Scheme scheme, int bits,
                     std::span<const float> weights = {});

}  // namespace tinyq
