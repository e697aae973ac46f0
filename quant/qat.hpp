// Quantization-aware training of a whole model: every Dense becomes a
// FakeQuantDense for training, and every FakeQuantDense a QuantizedDense
// for saving and inference.
#pragma once

#include <string>

#include "nn/sequential.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

struct QatConfig {
  QuantFormat format;
  std::string grid = "minmax";  // a data-free grid method (quant/methods.hpp)
  bool learn_scale = false;     // LSQ: learned steps (and offsets)
};

// A copy of `model` with each Dense replaced by a FakeQuantDense starting from
// its weights. Throws tinyq::Error for an invalid format or grid name.
Sequential make_qat_model(const Sequential& model, const QatConfig& config);

// A copy with each FakeQuantDense replaced by its QuantizedDense.
Sequential export_qat_model(const Sequential& model,
                            QuantizedKernel kernel = QuantizedKernel::weight_only);

}  // namespace tinyq
