// Tuning the grids end to end: every block's step (and the layer biases)
// fitted to the float model's outputs on calibration data, codes fixed.
//
// GPTQ and its grid refits each minimize one layer's output error; what the
// model is judged on is the last layer's output. With the codes q fixed, a
// quantized weight is linear in its block's step s (quant/quantized_matrix.hpp):
//
//   zero point z:            ŵ = s · (q - z)       (0 stays exactly a level)
//   symmetric, ternary:      ŵ = s · q
//   asymmetric, no z:        ŵ = s · (q + μ)       (μ: the offset in steps)
//
// so the gradient of any loss L reaches the grid through the weights' own
// gradient, summed over the block (the chain rule through ŵ):
//
//   ∂L/∂s = Σ_{c in block} ∂L/∂ŵ_c · (q_c - z)    (or q_c + μ),
//   ∂L/∂μ = s · Σ_{c in block} ∂L/∂ŵ_c.
//
// The loss is the cross-entropy of the quantized model's softmax against the
// float model's (knowledge distillation, Hinton et al. 2015): no labels, only
// the calibration images, so this is still post-training quantization (the
// same setting as AdaRound, BRECQ and OmniQuant's learnable clipping, which
// also fit quantization parameters to a block's or model's outputs). Its
// gradient with respect to the logits is (p_quantized - p_float) / batch.
//
// Steps are updated as log s (a step can only shrink towards 0, never cross
// it, and one learning rate suits steps of any size) with Adam (Kingma & Ba
// 2015), as are μ and the biases. The tuned model is then stored in the
// same format as before: the codes do not change, only scales, offsets and
// biases; zero points stay exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "quant/quantized_matrix.hpp"

namespace tinyq {

struct ScaleTuningOptions {
  std::size_t epochs = 0;  // passes over the calibration inputs; 0: no tuning
  std::size_t batch = 64;
  double learning_rate = 1e-3;  // Adam's, on log s, μ and the biases
  std::uint64_t seed = 1;       // order of the calibration rows in each epoch
  bool biases = true;           // also fit the biases (else only the grids)
};

// The gradient above for one matrix: ∂L/∂log s and ∂L/∂μ per block (μ's
// entries are 0 for blocks whose offset is not tuned: zero points,
// symmetric), given ∂L/∂ŵ [rows, cols] and the unpacked codes [rows, cols].
struct GridGradient {
  std::vector<double> log_step, shift;
};
GridGradient grid_gradient(const QuantizedMatrix& weight, std::span<const std::int32_t> codes,
                           std::span<const float> weight_grad);

// Tunes every QuantizedDense of `quantized` (the others, float Dense layers
// kept by keep_float included, are left as they are) towards `reference`'s
// output distribution on `calibration` [samples, inputs]. Both models must
// have the same layer widths. Deterministic for a seed at any thread count.
void tune_scales(Sequential& quantized, const Sequential& reference, const Tensor& calibration,
                 const ScaleTuningOptions& options);

}  // namespace tinyq
