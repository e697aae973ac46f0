// The tinyq model file (.tqm): a versioned little-endian binary format.
//
//   offset  size  field
//   0       8     magic "TINYQMDL"
//   8       4     version (u32) = 1
//   12      4     layer count (u32)
//   then per layer:
//           4+n   kind: u32 length (at most 64) + ASCII tag ("dense", "relu", ...)
//           8     payload length in bytes (u64)
//           ...   payload, written by Layer::save, read by the kind's loader
//   end-4   4     CRC-32 (IEEE, as in gzip) of every byte before it
//
// A Dense payload is: u32 in, u32 out (both >= 1), then out*in f32 weights
// (row-major, [out, in]) and out f32 biases. ReLU has an empty payload.
// All integers are little-endian; floats are their IEEE-754 bit patterns.
//
// Loading refuses, with an error naming the file: a wrong magic, an unknown
// version, zero layers, a bad checksum, truncation, trailing bytes, an
// unknown kind, a payload that does not match its declared length (the
// loader reads fewer or more bytes), sizes larger than the bytes left (refused
// before allocating), and layers whose widths do not fit together. The
// framing is walked and the CRC checked before any loader runs. Files over
// 1 GiB are refused unread. Saving writes a temporary file in the same folder and
// renames it over the target, so a failure never leaves a half-written model.
//
// nn knows nothing of quantization: loaders are looked up in a LayerRegistry.
// float_layers() knows Dense and ReLU; the quant module offers a registry
// that adds its own layers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/binary_io.hpp"
#include "core/io/file_io.hpp"
#include "nn/layer.hpp"
#include "nn/sequential.hpp"

namespace tinyq {

using LayerLoader = std::function<std::unique_ptr<Layer>(BinaryReader& payload)>;

class LayerRegistry {
 public:
  void add(const std::string& kind, LayerLoader loader);
  // Throws tinyq::Error naming the kind when it is not registered.
  std::unique_ptr<Layer> load(const std::string& kind, BinaryReader& payload) const;
  bool knows(const std::string& kind) const { return loaders_.count(kind) != 0; }

 private:
  std::map<std::string, LayerLoader> loaders_;
};

LayerRegistry float_layers();

// The whole file as bytes (what save_model writes).
std::vector<std::uint8_t> serialize_model(const Sequential& model);
Sequential deserialize_model(std::span<const std::uint8_t> bytes, const std::string& source,
                             const LayerRegistry& registry = float_layers());

void save_model(const Sequential& model, const std::filesystem::path& path);
Sequential load_model(const std::filesystem::path& path,
                      const LayerRegistry& registry = float_layers());

}  // namespace tinyq
