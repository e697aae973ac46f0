// The quant module's layer kinds: the one table that registers a quantized
// layer. Each row says how to build the layer from its state (for reading
// files), which float kind it replaces, and how to make it from one.
//
// Adding a quantized layer kind: write the layer (quant/<name>.hpp/.cpp with
// state() and from_state) and its quantizer, then add one row to
// quantized_kinds() in registry.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "nn/layer_registry.hpp"
#include "nn/sequential.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

// Makes the quantized twin of `float_layer`. `layer_inputs` are the inputs
// that reach the layer on calibration data ([samples, in]; empty without
// data); `name` starts error messages, e.g. "layer 2 (Dense(256 -> 128))".
using LayerQuantizer =
    std::function<std::unique_ptr<Layer>(const Layer& float_layer, const QuantConfig& config,
                                         const Tensor& layer_inputs, const std::string& name)>;

struct QuantizedKind {
  LayerKind layer;       // "quantized_dense" and how to build it from its state
  std::string replaces;  // the float kind it quantizes: "dense"
  LayerQuantizer quantize;
};

const std::vector<QuantizedKind>& quantized_kinds();

// float_layers() plus every quantized kind: load_model(path, all_layers()).
LayerRegistry all_layers();

// The row that quantizes `float_kind`, or nullptr when it has no quantized form.
const QuantizedKind* quantizer_for(const std::string& float_kind);

// True for a layer of a quantized kind, and for a model holding one.
bool is_quantized(const Layer& layer);
bool is_quantized(const Sequential& model);

}  // namespace tinyq
