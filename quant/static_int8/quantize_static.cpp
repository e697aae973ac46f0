// quantize_static_int8: calibrate, then build each layer's integers.
#include "quant/static_int8/quantize_static.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "quant/static_int8/static_dense.hpp"

namespace tinyq {

namespace {

bool is_dense(const Layer& layer) {
  return layer.kind() == "dense";
}
bool is_relu(const Layer& layer) {
  return layer.kind() == "relu";
}

// Weight codes and their scales for one Dense weight [out, in].
void quantize_weights(const std::vector<float>& w, std::size_t out, std::size_t in,
                      const StaticInt8Config& config, StaticInt8Dense::Params& p) {
  const float levels = float((1 << (config.bits - 1)) - 1);  // 127 at 8 bits
  std::vector<float> max_abs(out, 0.0f);
  for (std::size_t j = 0; j < out; ++j)
    for (std::size_t i = 0; i < in; ++i)
      max_abs[j] = std::max(max_abs[j], std::fabs(w[j * in + i]));
  if (config.granularity == Granularity::tensor)
    std::fill(max_abs.begin(), max_abs.end(), *std::max_element(max_abs.begin(), max_abs.end()));
  p.weight.resize(out * in);
  p.weight_scale.resize(out);
  for (std::size_t j = 0; j < out; ++j) {
    const float scale = max_abs[j] > 0.0f ? max_abs[j] / levels : 1.0f;  // all-zero row: any
    p.weight_scale[j] = scale;
    for (std::size_t i = 0; i < in; ++i)
      p.weight[j * in + i] = static_cast<std::int8_t>(
          std::clamp(std::nearbyint(w[j * in + i] / scale), -levels, levels));
  }
}

// The index of the last Dense; throws unless `model` is Dense and ReLU layers
// ending with a Dense and `calibration` is [samples >= 1, inputs].
std::size_t check_quantizable(const Sequential& model, const Tensor& calibration) {
  std::size_t last_dense = model.size();
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    if (!is_dense(layer) && !is_relu(layer))
      throw Error("static int8: layer " + std::to_string(i) + " is " + layer.describe() +
                  "; only a float model of Dense and ReLU layers can be quantized");
    if (is_dense(layer)) last_dense = i;
  }
  if (last_dense == model.size()) throw Error("static int8: the model has no Dense layer");
  if (last_dense + 1 != model.size())
    throw Error("static int8: the model must end with a Dense layer (its int32 scores), found " +
                model.layer(model.size() - 1).describe());
  const auto width = model.input_features();
  if (calibration.rank() != 2 || calibration.dim(0) == 0 || (width && calibration.dim(1) != *width))
    throw Error("static int8: calibration images must be [samples >= 1, " +
                (width ? std::to_string(*width) : std::string("inputs")) + "], found " +
                calibration.shape().to_string());
  return last_dense;
}

}  // namespace

std::vector<ObservedActivation> observed_activations(const Sequential& model,
                                                     const Tensor& calibration) {
  const std::size_t last_dense = check_quantizable(model, calibration);
  Sequential float_model = model;  // forward needs a mutable model
  std::vector<ObservedActivation> observed;
  Tensor activations = calibration;
  for (std::size_t i = 0; i < last_dense; ++i) {
    activations = float_model.layer(i).forward(activations);
    if (!is_dense(model.layer(i))) continue;
    observed.push_back({i, activations});
    if (is_relu(model.layer(i + 1)))  // i + 1 <= last_dense: a layer follows
      observed.back().values = activations = float_model.layer(++i).forward(activations);
  }
  return observed;
}

Sequential quantize_static_int8(const Sequential& model, const Tensor& calibration,
                                const StaticInt8Config& config) {
  if (config.bits < 2 || config.bits > 8)
    throw Error("static int8: weight bits must be 2..8, found " + std::to_string(config.bits));
  if (config.granularity == Granularity::group)
    throw Error("static int8: weights are quantized per channel or per tensor, not per group");
  const std::size_t last_dense = check_quantizable(model, calibration);
  const std::vector<ObservedActivation> observed = observed_activations(model, calibration);

  Sequential quantized = model;
  U8Quantization input = pixel_quantization;
  std::size_t next_observed = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (is_relu(model.layer(i))) continue;
    const StateDict state = model.layer(i).float_state();
    const StateTensor& weight = *state.find("weight");
    const std::size_t out = weight.shape[0], in = weight.shape[1];
    StaticInt8Dense::Params p;
    p.in = in;
    p.out = out;
    p.input = input;
    quantize_weights(weight.floats(), out, in, config, p);
    p.scores = i == last_dense;
    p.relu = !p.scores && is_relu(model.layer(i + 1));
    if (p.relu) ++i;  // the ReLU stays in the model; its clamp is at the output zero point
    if (p.scores) {
      const float max_scale = *std::max_element(p.weight_scale.begin(), p.weight_scale.end());
      p.output = {input.scale * max_scale, 0};
    } else {
      p.output = u8_quantization(
          observe_range(config.observer, observed[next_observed++].values.values()));
    }
    const std::vector<float> bias = state.find("bias")->floats();
    for (std::size_t j = 0; j < out; ++j) {
      const double code =
          std::nearbyint(double(bias[j]) / (double(p.input.scale) * double(p.weight_scale[j])));
      p.bias.push_back(static_cast<std::int32_t>(std::clamp(code, -1073741824.0, 1073741824.0)));
      p.multiplier.push_back(requant_multiplier(p.input.scale, p.weight_scale[j], p.output.scale));
    }
    input = p.output;
    quantized.replace(p.relu ? i - 1 : i, std::make_unique<StaticInt8Dense>(std::move(p)));
  }
  return quantized;
}

}  // namespace tinyq
