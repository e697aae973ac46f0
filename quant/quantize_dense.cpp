// Dense -> QuantizedDense, through the layer's state dict.
#include "quant/quantize_dense.hpp"

#include "core/error.hpp"
#include "quant/methods.hpp"
#include "quant/quantize.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

std::unique_ptr<Layer> quantize_dense(const Layer& dense, const QuantConfig& config,
                                      const Tensor& layer_inputs, const std::string& name) {
  const StateDict state = dense.state();
  StateReader reader(state, name);
  const StateTensor& weight = reader.tensor_of_rank("weight", Dtype::f32, 2);
  const std::size_t outputs = weight.shape[0], inputs = weight.shape[1];
  Tensor bias = reader.floats("bias", {outputs});
  reader.finish();
  const std::vector<float> w = weight.floats();
  const GridChooser grid = find_grid_method(config.grid).make(layer_inputs);
  const Rounder rounding = find_rounding_method(config.rounding).make(layer_inputs);
  auto layer = std::make_unique<QuantizedDense>(
      quantize(w, outputs, inputs, config.format, name + " weight", grid, rounding),
      std::move(bias), config.kernel);
  return layer;
}

}  // namespace tinyq
