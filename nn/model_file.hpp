// The tinyq model file (.tqm): a versioned little-endian binary format.
//
//   offset  size  field
//   0       8     magic "TINYQMDL"
//   8       4     version (u32): 2 (1 is still read)
//   12      4     layer count (u32)
//   then per layer:
//           4+n   kind: u32 length (at most 64) + ASCII name ("dense", "relu", ...)
//           8     payload length in bytes (u64)
//           ...   payload
//   end-4   4     CRC-32 (IEEE, as in gzip) of every byte before it
//
// Version 2: the payload is the layer's state dict (nn/state_dict.hpp):
//   u32 attribute count (at most 64), then per attribute
//       u32 length + key (at most 64 bytes), u32 length + value (at most 4096)
//   u32 tensor count (at most 64), then per tensor
//       u32 length + name (at most 64 bytes)
//       u32 length + dtype name as safetensors writes it ("F32", "U8", ...)
//       u8 rank (0 to 4), u64 extents[rank]
//       the elements: product of extents × dtype size bytes, little-endian
// Keys, values and names are printable ASCII. Which tensors and attributes a
// kind has is documented beside the layer (nn/dense.hpp, quant/quantized_dense.hpp).
//
// Version 1 (written by tinyq before state dicts): each kind's own payload,
// translated into a state dict by LayerKind::read_v1_payload. A Dense
// payload is u32 in, u32 out, out·in f32 weights [out, in] and out f32
// biases; ReLU's is empty; QuantizedDense's is in quant/quantized_dense.hpp.
// Floats are their IEEE-754 bit patterns.
//
// Loading refuses, with one line naming the file: a wrong magic, an unknown
// version, zero layers, a bad checksum, truncation, trailing bytes, an
// unknown kind, a payload whose contents do not fill its declared length
// exactly, sizes larger than the bytes left (refused before allocating), any
// NaN or infinite parameter (naming the tensor and index), anything the
// layer's from_state refuses, and layers whose widths do not fit together.
// The framing is walked and the CRC checked before any payload is read.
// Files over 1 GiB are refused unread. Saving writes a temporary file and
// renames it over the target, so a failure never leaves a half-written model.
//
// nn knows nothing of quantization: kinds are looked up in a LayerRegistry.
// float_layers() knows Dense and ReLU; quant's all_layers() adds its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "nn/layer_registry.hpp"
#include "nn/sequential.hpp"

namespace tinyq {

inline constexpr std::uint32_t model_file_version = 2;

// The whole file as bytes (what save_model writes).
std::vector<std::uint8_t> serialize_model(const Sequential& model);
Sequential deserialize_model(std::span<const std::uint8_t> bytes, const std::string& source,
                             const LayerRegistry& registry = float_layers());

// True when the bytes start with the .tqm magic.
bool looks_like_tinyq_model(std::span<const std::uint8_t> bytes);

void save_model(const Sequential& model, const std::filesystem::path& path);

// A .tqm model file or a safetensors file (nn/model_safetensors.hpp), told
// apart by content, never by the file name. Files over 1 GiB are refused
// unread; anything else throws tinyq::Error naming the file.
Sequential load_model(const std::filesystem::path& path,
                      const LayerRegistry& registry = float_layers());

}  // namespace tinyq
