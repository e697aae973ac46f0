// Swapping Dense <-> FakeQuantDense -> QuantizedDense layer by layer.
#include "quant/qat.hpp"

#include "core/tensor.hpp"
#include "nn/dense.hpp"
#include "quant/fake_quant_dense.hpp"
#include "quant/methods.hpp"

namespace tinyq {

Sequential make_qat_model(const Sequential& model, const QatConfig& config) {
  validate(config.format);
  const GridChooser grid =
      find_grid_method(config.grid)
          .make(Tensor(), QuantConfig{.format = config.format, .grid = config.grid});
  Sequential qat = model;
  for (std::size_t i = 0; i < qat.size(); ++i)
    if (const auto* dense = dynamic_cast<const Dense*>(&qat.layer(i)))
      qat.replace(
          i, std::make_unique<FakeQuantDense>(*dense, config.format, grid, config.learn_scale));
  return qat;
}

Sequential export_qat_model(const Sequential& model, QuantizedKernel kernel) {
  Sequential quantized = model;
  for (std::size_t i = 0; i < quantized.size(); ++i)
    if (const auto* fake = dynamic_cast<const FakeQuantDense*>(&quantized.layer(i)))
      quantized.replace(i, fake->to_quantized(kernel));
  return quantized;
}

}  // namespace tinyq
