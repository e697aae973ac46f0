// Post-training quantization of a whole model, like PyTorch's quantize_dynamic:
// every Dense becomes a QuantizedDense, every other layer is copied as is.
#pragma once

#include <memory>
#include <string_view>

#include "nn/dense.hpp"
#include "nn/sequential.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

// The quantized twin of one Dense layer (its bias stays float). `name`
// appears in errors, e.g. "layer 2 (Dense(256 -> 128)) weight: ... is NaN".
std::unique_ptr<QuantizedDense> quantize_dense(const Dense& dense, const QuantFormat& format,
                                               std::string_view name = "Dense weight");

// A new model; `model` is untouched. config.keep_float holds layer indices
// (positions in the model as Sequential::layer counts them, ReLUs included)
// of Dense layers to leave in float. Throws tinyq::Error for an invalid
// format, an index out of range or one that is not a Dense layer, and for
// non-finite weights.
Sequential quantize_model(const Sequential& model, const QuantConfig& config);

}  // namespace tinyq
