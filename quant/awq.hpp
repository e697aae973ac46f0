// Activation-aware scaling (AWQ; Lin et al. 2023, "AWQ: Activation-aware
// Weight Quantization for LLM Compression and Acceleration").
//
// Inputs that carry large activations matter most, and their weights lose
// the same absolute precision as the rest. Scaling input channel c of a
// Dense layer by s_c > 0 (W[:, c] · s_c) and its input by 1 / s_c leaves the
// layer's function unchanged but gives the weights of large channels more of
// the grid. AWQ takes s_c = mean |x_c|^α over calibration inputs (divided by
// sqrt(max s · min s), to keep the scales around 1) and searches α in
// 0, 0.05, ..., 1 for the least output error of the layer rounded to
// nearest on its grid, Σ_n ||x_n Wᵀ - (x_n / s) Q(W diag s)ᵀ||².
//
// The 1 / s must go somewhere. Here the layer before is a Dense followed by
// a ReLU, and relu(z / s) = relu(z) / s for s > 0, so dividing row c and
// bias c of that Dense by s_c is exact. A Dense with no Dense + ReLU before
// it (the first layer) is left unscaled: keeping a per-input scale vector in
// the quantized layer would change the stored format, and the first layer's
// inputs are pixels of similar scale anyway.
//
// The fold is free for the layer before only when its grids are per row
// (channel or group granularity): row c divided by s_c divides that row's
// grid with it. One grid per tensor would be stretched by the largest 1 / s_c
// and coarsened for every other row (on a test model, the error of the pair
// grew 100-fold), so with tensor granularity AWQ scales a layer only when
// the layer before it is kept in float.
#pragma once

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

struct AwqChoice {
  std::size_t layer = 0;  // index of the scaled Dense
  double alpha = 0.0;     // 0: no scaling was best
};

// Rescales, in place, every Dense that config quantizes and that follows a
// Dense + ReLU; `calibration`: [samples, model inputs]. The model computes
// the same function (up to float rounding). Returns the α chosen per layer.
std::vector<AwqChoice> awq_rescale(Sequential& model, const QuantConfig& config,
                                   const Tensor& calibration);

}  // namespace tinyq
