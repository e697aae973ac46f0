// A float MLP as PyTorch stores an nn.Sequential of Linear and ReLU layers
// in a safetensors file, and back.
//
// PyTorch names the parameters of nn.Sequential(Linear, ReLU, Linear, ReLU,
// Linear) by position: "0.weight", "0.bias", "2.weight", "2.bias",
// "4.weight", "4.bias". ReLU has no parameters, so positions 1 and 3 leave
// no trace in the file. The mapping therefore assumes exactly that layout:
//
//   * every tensor is named "<i>.weight" or "<i>.bias" (i a decimal index
//     without leading zeros), F32; weight [out, in] (the layout of both
//     nn.Linear and tinyq's Dense), bias [out];
//   * the Linear layers sit at positions 0, 2, 4, ...: the first at 0, each
//     next one two positions further, and the position between two Linears
//     is a ReLU;
//   * each Linear has both weight and bias, and its input width equals the
//     previous one's output width.
//
// Anything else is refused with a message saying which rule failed: a gap
// or an odd position (another parameter-free layer such as Dropout or
// Flatten, or a layer with parameters tinyq does not know), a missing
// bias, widths that do not chain, extra or unknown tensors. A ReLU placed
// after the last Linear also leaves no trace; it is not restored (a
// classifier's logits need none). The "__metadata__" map is not needed and
// is ignored on reading.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "nn/sequential.hpp"

namespace tinyq {

// Builds Dense, ReLU, Dense, ..., Dense from the tensors of `file`; errors
// start with `source`.
Sequential sequential_from_safetensors(const SafetensorsFile& file, const std::string& source);

// The whole safetensors file for a float model laid out as Dense, ReLU,
// Dense, ..., Dense, with the names above, so that PyTorch can
// load_state_dict it into the matching nn.Sequential. Metadata: "format":
// "pt" (as PyTorch's own safetensors export writes) and "tinyq.model", the
// model's description. Throws tinyq::Error naming the first layer that does
// not fit the layout (a QuantizedDense, two ReLUs in a row, a trailing ReLU).
std::vector<std::uint8_t> safetensors_from_sequential(const Sequential& model);

}  // namespace tinyq
