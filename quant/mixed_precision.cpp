// Mixed precision: measure each layer's sensitivity per format, then solve
// the knapsack over the Pareto front.
#include "quant/mixed_precision.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "quant/awq.hpp"
#include "quant/methods.hpp"
#include "quant/quantize_model.hpp"
#include "quant/registry.hpp"
#include "quant/scale_tuning.hpp"

namespace tinyq {

namespace {

// A partial choice over the first layers: what it costs, how much it moves
// the outputs, and the option picked for each of those layers.
struct Partial {
  std::uint64_t cost = 0;
  double loss = 0.0;
  std::vector<std::size_t> picks;
};

// Mean over rows of KL(softmax(a) ‖ softmax(b)) = Σ_k p_k (log p_k − log q_k),
// with log-softmax computed from the logits (shifted by their maximum).
double mean_kl_divergence(const Tensor& a, const Tensor& b) {
  const std::size_t rows = a.dim(0);
  double total = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    auto log_softmax = [](std::span<const float> z) {
      const double top = *std::max_element(z.begin(), z.end());
      double sum = 0.0;
      for (const float v : z) sum += std::exp(double(v) - top);
      std::vector<double> out(z.size());
      for (std::size_t k = 0; k < z.size(); ++k) out[k] = double(z[k]) - top - std::log(sum);
      return out;
    };
    const std::vector<double> lp = log_softmax(a.row(r));
    const std::vector<double> lq = log_softmax(b.row(r));
    for (std::size_t k = 0; k < lp.size(); ++k) total += std::exp(lp[k]) * (lp[k] - lq[k]);
  }
  return rows ? total / double(rows) : 0.0;
}

bool kept(const QuantConfig& config, std::size_t index) {
  return std::find(config.keep_float.begin(), config.keep_float.end(), index) !=
         config.keep_float.end();
}

}  // namespace

std::optional<std::vector<std::size_t>> choose_options(
    const std::vector<std::vector<LayerOption>>& layers, double budget_bits) {
  std::vector<Partial> front = {Partial{}};
  for (const auto& options : layers) {
    std::vector<Partial> next;
    for (const Partial& p : front)
      for (std::size_t k = 0; k < options.size(); ++k) {
        const std::uint64_t cost = p.cost + options[k].stored_bits;
        if (double(cost) > budget_bits) continue;
        Partial extended{cost, p.loss + options[k].sensitivity, p.picks};
        extended.picks.push_back(k);
        next.push_back(std::move(extended));
      }
    // Keep the Pareto front: by increasing cost, only what lowers the loss.
    std::stable_sort(next.begin(), next.end(), [](const Partial& a, const Partial& b) {
      return a.cost != b.cost ? a.cost < b.cost : a.loss < b.loss;
    });
    front.clear();
    for (Partial& p : next)
      if (front.empty() || p.loss < front.back().loss) front.push_back(std::move(p));
    if (front.empty()) return std::nullopt;
  }
  // The front's loss falls as cost rises: its last entry is the best.
  return front.back().picks;
}

std::uint64_t stored_weight_bits(const Layer& quantized_layer) {
  const StateDict state = quantized_layer.state();
  std::uint64_t bytes = state.tensor_bytes();
  if (const StateTensor* bias = state.find("bias")) bytes -= bias->bytes.size();
  return 8 * bytes;
}

MixedPrecisionPlan plan_mixed_precision(const Sequential& model, const QuantConfig& base,
                                        std::span<const QuantFormat> candidates,
                                        double budget_bits_per_weight, const Tensor& calibration) {
  if (candidates.empty()) throw Error("mixed precision: no candidate formats");
  if (calibration.size() == 0)
    throw Error("mixed precision: sensitivity is measured on calibration inputs; none given");
  MixedPrecisionPlan plan;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (quantizer_for(model.layer(i).kind()) && !kept(base, i)) plan.layers.push_back(i);

  Sequential reference = model;
  const Tensor float_logits = reference.forward(calibration);
  for (const std::size_t index : plan.layers) {
    // Layer `index` alone quantized: every other quantizable layer kept float.
    QuantConfig alone = base;
    alone.tune_epochs = 0;  // sensitivities of the rounding alone (tuning runs once, at the end)
    for (const std::size_t other : plan.layers)
      if (other != index) alone.keep_float.push_back(other);
    std::vector<LayerOption>& options = plan.options.emplace_back();
    for (const QuantFormat& format : candidates) {
      alone.format = format;
      Sequential quantized = quantize_model(model, alone, calibration);
      const Tensor& logits = quantized.forward(calibration);
      options.push_back({format, stored_weight_bits(quantized.layer(index)),
                         mean_kl_divergence(float_logits, logits)});
    }
    const StateDict state = model.layer(index).state();
    const StateTensor* weight = state.find("weight");
    plan.weights += weight ? weight->element_count() : 0;
  }
  const double budget = budget_bits_per_weight * double(plan.weights);
  const auto chosen = choose_options(plan.options, budget);
  if (!chosen) {
    std::uint64_t cheapest = 0;
    for (const auto& options : plan.options) {
      std::uint64_t least = options.front().stored_bits;
      for (const LayerOption& o : options) least = std::min(least, o.stored_bits);
      cheapest += least;
    }
    char text[160];
    std::snprintf(text, sizeof text,
                  "mixed precision: a budget of %g bits per weight fits no choice; the cheapest "
                  "stores %.3f bits per weight",
                  budget_bits_per_weight, double(cheapest) / double(plan.weights));
    throw Error(text);
  }
  plan.chosen = *chosen;
  for (std::size_t l = 0; l < plan.layers.size(); ++l)
    plan.stored_bits += plan.options[l][plan.chosen[l]].stored_bits;
  return plan;
}

namespace {

// base with only layer l of the plan quantized, in its chosen format.
QuantConfig only_layer(const QuantConfig& base, const MixedPrecisionPlan& plan, std::size_t l) {
  QuantConfig step = base;
  step.format = plan.options[l][plan.chosen[l]].format;
  for (std::size_t other = 0; other < plan.layers.size(); ++other)
    if (other != l) step.keep_float.push_back(plan.layers[other]);
  return step;
}

}  // namespace

Sequential mixed_reference(const Sequential& model, const QuantConfig& base,
                           const MixedPrecisionPlan& plan, const Tensor& calibration) {
  Sequential reference = model;
  if (uses_awq(base))
    for (std::size_t l = 0; l < plan.layers.size(); ++l)
      awq_rescale(reference, only_layer(base, plan, l), calibration);
  return reference;
}

Sequential quantize_mixed(const Sequential& model, const QuantConfig& base,
                          const MixedPrecisionPlan& plan, const Tensor& calibration) {
  // AWQ folds each layer's scales into the float layer before it, so all of
  // it happens first, on the float model; then only the rounding is left.
  QuantConfig rounding = base;
  if (uses_awq(base)) rounding.method = uses_gptq(base) ? "gptq" : "rtn";
  rounding.tune_epochs = 0;  // tuning fits all layers together, once they are all quantized
  Sequential quantized = mixed_reference(model, base, plan, calibration);
  for (std::size_t l = 0; l < plan.layers.size(); ++l) {
    // Only layer l: the later ones wait in float, the earlier ones are
    // already quantized (quantize_model passes quantized layers by).
    QuantConfig step = only_layer(rounding, plan, l);
    step.keep_float.erase(
        std::remove_if(step.keep_float.begin(), step.keep_float.end(),
                       [&](std::size_t index) { return is_quantized(quantized.layer(index)); }),
        step.keep_float.end());
    quantized = quantize_model(quantized, step, calibration);
  }
  if (base.tune_epochs > 0)
    tune_scales(quantized, model, calibration,
                {.epochs = base.tune_epochs, .learning_rate = base.tune_learning_rate});
  return quantized;
}

}  // namespace tinyq
