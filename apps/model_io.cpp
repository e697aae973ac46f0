// Choosing a model reader by the file's first bytes, and the safetensors export.
#include "apps/model_io.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/io/file_io.hpp"
#include "core/io/safetensors.hpp"
#include "nn/model_file.hpp"
#include "nn/safetensors_mlp.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/quantized_safetensors.hpp"
#include "quant/registry.hpp"

namespace tinyq {

namespace {

constexpr std::uint64_t max_model_bytes = std::uint64_t{1} << 30;
constexpr std::string_view tinyq_magic = "TINYQMDL";

}  // namespace

Sequential load_any_model(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = read_file(path, max_model_bytes);
  const std::string source = path.string();
  if (bytes.size() >= tinyq_magic.size() &&
      std::equal(tinyq_magic.begin(), tinyq_magic.end(), bytes.begin()))
    return deserialize_model(bytes, source, all_layers());
  if (looks_like_safetensors(bytes))
    return sequential_from_any_safetensors(read_safetensors(bytes, source), source);
  throw Error(source +
              ": not a model file (expected a tinyq model starting with \"TINYQMDL\" or a "
              "safetensors file: an 8-byte header size followed by '{')");
}

std::size_t export_safetensors(const Sequential& model, const std::filesystem::path& path) {
  bool quantized = false;
  for (std::size_t i = 0; i < model.size(); ++i)
    quantized = quantized || dynamic_cast<const QuantizedDense*>(&model.layer(i)) != nullptr;
  const std::vector<std::uint8_t> bytes =
      quantized ? quantized_safetensors_from_sequential(model) : safetensors_from_sequential(model);
  write_file_atomically(path, bytes);
  return bytes.size();
}

}  // namespace tinyq
