// A model as a safetensors file: every layer's state dict, flattened.
//
// The layer at position i (ReLUs count, as PyTorch numbers an nn.Sequential)
// stores each tensor of its state dict as "<i>.<name>" and each attribute as
// the metadata entry "<i>.<key>". The metadata also holds
//   "tinyq.format"  "tinyq/2": this layout
//   "tinyq.layers"  the kind names in order, comma-separated, e.g.
//                   "quantized_dense,relu,quantized_dense,relu,dense"
//   "tinyq.model"   the model's description (informative)
//   "format"        "pt", as PyTorch's own safetensors export writes
// So a float MLP of Dense and ReLU is "0.weight", "0.bias", "2.weight", ...,
// exactly what PyTorch's nn.Sequential(Linear, ReLU, Linear, ...).state_dict()
// holds: PyTorch can load_state_dict it. Each kind's names are documented
// beside the layer (nn/dense.hpp, quant/quantized_dense.hpp).
//
// Reading accepts three kinds of file:
//   * "tinyq.format" "tinyq/2", as above;
//   * "tinyq.format" "quantized-mlp/1", the same layout as written by tinyq
//     before state dicts (its kinds: dense, relu, quantized_dense);
//   * no "tinyq.format": a float MLP as PyTorch saves an nn.Sequential of
//     Linear and ReLU. Every tensor is "<i>.weight" or "<i>.bias" (i decimal,
//     no leading zeros), F32; the Linear layers sit at positions 0, 2, 4, ...
//     with a ReLU between two of them; each has both weight [out, in] and
//     bias [out]. A gap or odd position (another parameter-free layer such
//     as Dropout), a missing bias, widths that do not chain, or an unknown
//     tensor is refused with the rule that failed. A ReLU after the last
//     Linear leaves no trace and is not restored.
// Every error is one line naming the file; a tensor no layer takes, a
// metadata entry "<i>.<key>" the layer does not know, and any NaN or
// infinity in a parameter are refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "nn/layer_registry.hpp"
#include "nn/sequential.hpp"

namespace tinyq {

inline constexpr const char* model_safetensors_format = "tinyq/2";

// The whole file. Throws tinyq::Error for a model with no layers.
std::vector<std::uint8_t> model_to_safetensors(const Sequential& model);

// The model the file holds; errors start with `source`.
Sequential model_from_safetensors(const SafetensorsFile& file, const std::string& source,
                                  const LayerRegistry& registry = float_layers());

// Writes model_to_safetensors atomically; returns the number of bytes written.
std::size_t save_safetensors(const Sequential& model, const std::filesystem::path& path);

}  // namespace tinyq
