// quantize_model: walk the model, quantizing layer by layer.
#include "quant/quantize_model.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "quant/awq.hpp"
#include "quant/bias_correction.hpp"
#include "quant/methods.hpp"
#include "quant/registry.hpp"
#include "quant/scale_tuning.hpp"

namespace tinyq {

Sequential quantize_model(const Sequential& model, const QuantConfig& config,
                          const Tensor& calibration) {
  validate(config.format);
  validate_methods(config, calibration.size() != 0);
  for (const std::size_t index : config.keep_float) {
    if (index >= model.size())
      throw Error("keep_float: layer index " + std::to_string(index) +
                  " is out of range (the model has " + std::to_string(model.size()) +
                  " layers, 0.." + std::to_string(model.size() - 1) + ")");
    if (!quantizer_for(model.layer(index).kind()))
      throw Error("keep_float: layer " + std::to_string(index) + " is " +
                  model.layer(index).describe() + ", which has no quantized form");
  }
  const bool calibrated = calibration.size() != 0;
  if (calibrated) {
    const auto width = model.input_features();
    if (calibration.rank() != 2 || (width && calibration.dim(1) != *width))
      throw Error("quantize_model: calibration inputs must be [samples, " +
                  (width ? std::to_string(*width) : std::string("inputs")) + "], found " +
                  calibration.shape().to_string());
  }

  Sequential quantized = model;
  // AWQ changes the float model (the same function, rescaled) before any layer is quantized.
  if (uses_awq(config)) awq_rescale(quantized, config, calibration);
  Tensor inputs = calibration;  // what reaches layer i through quantized layers 0..i-1
  // What reaches layer i through the float layers (bias correction's target).
  const bool track_float = config.bias_correction;
  Tensor float_inputs = track_float ? calibration : Tensor();
  for (std::size_t i = 0; i < quantized.size(); ++i) {
    const Layer& layer = quantized.layer(i);
    const QuantizedKind* quantizer = quantizer_for(layer.kind());
    const bool keep =
        std::find(config.keep_float.begin(), config.keep_float.end(), i) != config.keep_float.end();
    if (quantizer && !keep) {
      const std::string name = "layer " + std::to_string(i) + " (" + layer.describe() + ")";
      std::unique_ptr<Layer> replacement = quantizer->quantize(layer, config, inputs, name);
      if (config.bias_correction)
        replacement = with_bias_shift(
            *replacement,
            mean_output_shift(quantized.layer(i), float_inputs, *replacement, inputs));
      if (track_float && i + 1 < quantized.size())
        float_inputs = quantized.layer(i).forward(float_inputs);
      quantized.replace(i, std::move(replacement));
    } else if (track_float && i + 1 < quantized.size()) {
      float_inputs = quantized.layer(i).forward(float_inputs);
    }
    if (calibrated && i + 1 < quantized.size()) inputs = quantized.layer(i).forward(inputs);
  }
  if (config.tune_epochs > 0)
    tune_scales(quantized, model, calibration,
                {.epochs = config.tune_epochs, .learning_rate = config.tune_learning_rate});
  return quantized;
}

}  // namespace tinyq
