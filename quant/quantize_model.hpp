// Post-training quantization of a whole model, like PyTorch's quantize_dynamic:
// every layer whose kind has a quantized form (quant/registry.hpp: Dense ->
// QuantizedDense) is replaced by its quantized twin, the rest are copied.
//
// With calibration inputs, each layer's quantizer sees the inputs that reach
// it through the layers before it as they are after quantization: layer i
// gets f_{i-1}(...f_0(x)) with f_j already quantized, so a method that
// compensates error (GPTQ) corrects for the error upstream too. AWQ
// (config.method awq or awq+gptq, quant/awq.hpp) first rescales the float
// model on the calibration inputs, then the rescaled model is quantized.
#pragma once

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

// A new model; `model` is untouched. config.keep_float holds layer indices
// (positions in the model as Sequential::layer counts them, ReLUs included)
// of layers to leave in float. `calibration`: [samples, model inputs], or
// empty for methods that need no data. Throws tinyq::Error for an invalid
// format or method, an index out of range or naming a layer with no quantized
// form, a calibration width that does not fit, non-finite weights, and for
// a method that needs calibration data when none is given.
Sequential quantize_model(const Sequential& model, const QuantConfig& config,
                          const Tensor& calibration = Tensor());

}  // namespace tinyq
