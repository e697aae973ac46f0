// quantize_model: swap each Dense of a copied model for its quantized twin.
#include "quant/quantize_model.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "quant/quantize.hpp"

namespace tinyq {

std::unique_ptr<QuantizedDense> quantize_dense(const Dense& dense, const QuantFormat& format,
                                               std::string_view name) {
  return std::make_unique<QuantizedDense>(quantize(dense.weight(), format, name), dense.bias());
}

Sequential quantize_model(const Sequential& model, const QuantConfig& config) {
  const QuantFormat format = config.format();
  validate(format);
  for (const std::size_t index : config.keep_float) {
    if (index >= model.size())
      throw Error("keep_float: layer index " + std::to_string(index) +
                  " is out of range (the model has " + std::to_string(model.size()) +
                  " layers, 0.." + std::to_string(model.size() - 1) + ")");
    if (dynamic_cast<const Dense*>(&model.layer(index)) == nullptr)
      throw Error("keep_float: layer " + std::to_string(index) + " is " +
                  model.layer(index).describe() + ", not a Dense layer");
  }
  Sequential quantized = model;
  for (std::size_t i = 0; i < model.size(); ++i) {
    const auto* dense = dynamic_cast<const Dense*>(&model.layer(i));
    if (dense == nullptr) continue;
    if (std::find(config.keep_float.begin(), config.keep_float.end(), i) != config.keep_float.end())
      continue;
    const std::string name = "layer " + std::to_string(i) + " (" + dense->describe() + ") weight";
    auto layer = quantize_dense(*dense, format, name);
    layer->set_kernel(config.kernel);
    quantized.replace(i, std::move(layer));
  }
  return quantized;
}

}  // namespace tinyq
