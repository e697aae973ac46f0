// Mixed precision: a bit width (and granularity) per layer, chosen from
// measured sensitivity to fit an average budget of stored bits per weight.
//
// Layers do not suffer equally from coarse weights: the first layer of an
// MNIST MLP holds most of the weights, the last one few but decisive ones.
// So, for every quantizable layer l and every candidate format f:
//   cost(l, f)  bits the layer stores in format f: packed codes (each row
//               starting on a byte boundary), and 32 bits per float scale and
//               per float offset: everything but the float bias, exactly as
//               the layer's state holds it;
//   sens(l, f)  how much the model's outputs move when layer l alone is
//               quantized to f (every other layer in float): the mean
//               Kullback-Leibler divergence KL(p ‖ p̂) of the softmax of the
//               float model's logits p from the quantized one's p̂, over the
//               calibration inputs. No labels needed.
// Then choose f_l for every layer to minimize Σ_l sens(l, f_l) subject to
// Σ_l cost(l, f_l) <= budget · (weights of those layers). Treating the
// layers' effects as additive is the one approximation; the choice under it is
// exact: a multiple-choice knapsack solved by keeping, layer after layer, the
// Pareto front of (total cost, total sensitivity) over the choices so far (a
// partial choice that costs more and moves the outputs more than another can
// never be part of the best one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

struct LayerOption {
  QuantFormat format;
  std::uint64_t stored_bits = 0;  // cost
  double sensitivity = 0.0;       // sens
};

// The index of one option per layer minimizing the summed sensitivity with
// Σ stored_bits <= budget_bits (ties: the cheaper choice, then the earlier
// options), or nullopt when even the cheapest choice does not fit.
std::optional<std::vector<std::size_t>> choose_options(
    const std::vector<std::vector<LayerOption>>& layers, double budget_bits);

// Bits a quantized layer stores for its weights: its state's bytes, the float
// bias left out, times 8.
std::uint64_t stored_weight_bits(const Layer& quantized_layer);

struct MixedPrecisionPlan {
  std::vector<std::size_t> layers;                // model indices of the quantized layers
  std::vector<std::vector<LayerOption>> options;  // per layer, every candidate measured
  std::vector<std::size_t> chosen;                // per layer, the chosen option
  std::uint64_t weights = 0;                      // weights of those layers
  std::uint64_t stored_bits = 0;                  // Σ cost of the choice
  double bits_per_weight() const { return double(stored_bits) / double(weights); }
};

// Measures every candidate format on every quantizable layer of `model`
// (not in base.keep_float) with base's method, grid and kernel, and chooses
// within `budget_bits_per_weight`. Throws tinyq::Error when no choice fits
// (naming the cheapest average), for no candidates or no calibration inputs.
MixedPrecisionPlan plan_mixed_precision(const Sequential& model, const QuantConfig& base,
                                        std::span<const QuantFormat> candidates,
                                        double budget_bits_per_weight, const Tensor& calibration);

// The float model as the plan's quantization starts from it: itself, or with
// AWQ (base.method awq or awq+gptq) rescaled, each layer's scales searched
// for its own chosen format. The same function as `model`; what the
// quantized model's weight and output errors are measured against.
Sequential mixed_reference(const Sequential& model, const QuantConfig& base,
                           const MixedPrecisionPlan& plan, const Tensor& calibration);

// The model quantized as planned: mixed_reference, then layer by layer, in
// order, each with its own format and base's rounding (GPTQ or nearest), on
// calibration inputs through the layers before it as already quantized (as
// quantize_model does for one format).
Sequential quantize_mixed(const Sequential& model, const QuantConfig& base,
                          const MixedPrecisionPlan& plan, const Tensor& calibration);

}  // namespace tinyq
