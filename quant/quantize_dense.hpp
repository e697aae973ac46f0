// The quantizer for Dense layers: its state's "weight" becomes a
// QuantizedMatrix (grid and rounding chosen by name in the config,
// quant/methods.hpp), its "bias" stays float.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.hpp"
#include "nn/layer.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

// A QuantizedDense with config.kernel set. Throws tinyq::Error (starting with
// `name`) for non-finite weights or an unknown method.
std::unique_ptr<Layer> quantize_dense(const Layer& dense, const QuantConfig& config,
                                      const Tensor& layer_inputs, const std::string& name);

}  // namespace tinyq
