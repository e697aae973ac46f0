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
  // E[x_c²] over the calibration inputs: how much an error on a weight of
  // column c costs the output (quant/grid.hpp); none without data.
  std::vector<float> importance;
  if (layer_inputs.size() != 0) {
    std::vector<double> sum(inputs, 0.0);
    for (std::size_t n = 0; n < layer_inputs.dim(0); ++n)
      for (std::size_t c = 0; c < inputs; ++c)
        sum[c] += double(layer_inputs(n, c)) * layer_inputs(n, c);
    for (const double s : sum) importance.push_back(float(s / double(layer_inputs.dim(0))));
  }
  const GridChooser grid = find_grid_method(config.grid).make(layer_inputs, config);
  const Rounder rounding = find_rounding_method(rounding_of(config)).make(layer_inputs, config);
  auto layer = std::make_unique<QuantizedDense>(
      quantize(w, outputs, inputs, config.format, name + " weight", grid, rounding, importance),
      std::move(bias), config.kernel);
  return layer;
}

}  // namespace tinyq
