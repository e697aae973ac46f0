// Model files for the programs: any format tinyq reads, chosen by content,
// and the safetensors export.
//
// A tinyq model file starts with the magic "TINYQMDL"; a safetensors file
// starts with an 8-byte little-endian header size followed by '{'. The file
// name's extension is not consulted, so a renamed file still loads.
#pragma once

#include <cstddef>
#include <filesystem>

#include "nn/sequential.hpp"

namespace tinyq {

// A float or quantized tinyq model file (.tqm), a float MLP in PyTorch's
// safetensors naming, or a quantized model exported as safetensors by
// export_safetensors. Files over 1 GiB are refused unread; anything else
// that is not one of these throws tinyq::Error naming the file.
Sequential load_any_model(const std::filesystem::path& path);

// Writes `model` as safetensors, atomically: a float model in PyTorch's
// nn.Sequential naming (nn/safetensors_mlp.hpp), a model with quantized
// layers in the layout of quant/quantized_safetensors.hpp. Returns the
// number of bytes written.
std::size_t export_safetensors(const Sequential& model, const std::filesystem::path& path);

}  // namespace tinyq
