// Models to and from safetensors: one mapping from state dicts to names.
#include "nn/model_safetensors.hpp"

#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/io/file_io.hpp"

namespace tinyq {

namespace {

const char* const previous_format = "quantized-mlp/1";

// "12.weight" -> (12, "weight"); nullopt unless the name is index.rest with a
// plain decimal index (no sign, no leading zero) below a million.
std::optional<std::pair<std::size_t, std::string>> split_name(const std::string& name) {
  const auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 6) return std::nullopt;
  if (name[0] == '0' && dot != 1) return std::nullopt;
  std::size_t index = 0;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + dot, index);
  if (ec != std::errc() || ptr != name.data() + dot) return std::nullopt;
  return std::pair{index, name.substr(dot + 1)};
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts(1);
  for (const char c : text) {
    if (c == separator)
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

StateTensor state_tensor(const SafetensorsTensor& t) {
  return {t.dtype, t.shape, {t.bytes.begin(), t.bytes.end()}};
}

void add_layer(Sequential& model, std::unique_ptr<Layer> layer, const std::string& where) {
  try {
    model.add(std::move(layer));
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

// tinyq's own layout: tinyq.layers names the kinds, "<i>." prefixes the rest.
Sequential read_layers(const SafetensorsFile& file, const std::string& source,
                       const LayerRegistry& registry) {
  const auto layers_entry = file.metadata.find("tinyq.layers");
  if (layers_entry == file.metadata.end())
    throw Error(source + ": missing metadata \"tinyq.layers\"");
  const std::vector<std::string> kinds = split(layers_entry->second, ',');
  std::vector<StateDict> states(kinds.size());
  for (const auto& t : file.tensors) {
    const auto name = split_name(t.name);
    if (!name || name->first >= kinds.size())
      throw Error(source + ": unexpected tensor \"" + t.name +
                  "\" (expected <i>.<name> for one of " + std::to_string(kinds.size()) +
                  " layers)");
    states[name->first].add(name->second, state_tensor(t));
  }
  for (const auto& [key, value] : file.metadata) {
    const auto name = split_name(key);
    if (!name) continue;  // "format", "tinyq.*": the file's, not a layer's
    if (name->first >= kinds.size())
      throw Error(source + ": unexpected metadata \"" + key + "\" (the model has " +
                  std::to_string(kinds.size()) + " layers)");
    states[name->first].attributes[name->second] = value;
  }
  Sequential model;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const std::string where = source + ": layer " + std::to_string(i) + " (" + kinds[i] + ")";
    add_layer(model, registry.build(kinds[i], states[i], where), where);
  }
  return model;
}

// PyTorch's nn.Sequential(Linear, ReLU, Linear, ...) naming, no metadata.
Sequential read_pytorch_mlp(const SafetensorsFile& file, const std::string& source,
                            const LayerRegistry& registry) {
  const std::string where = source + ": ";
  const std::string layout =
      " (expected an nn.Sequential of Linear and ReLU: tensors <i>.weight and <i>.bias "
      "for Linear layers at positions 0, 2, 4, ...)";
  struct LinearTensors {
    const SafetensorsTensor* weight = nullptr;
    const SafetensorsTensor* bias = nullptr;
  };
  std::map<std::size_t, LinearTensors> linears;  // by position, in order
  for (const auto& t : file.tensors) {
    const auto name = split_name(t.name);
    if (!name || (name->second != "weight" && name->second != "bias"))
      throw Error(where + "unexpected tensor \"" + t.name + "\"" + layout);
    auto& entry = linears[name->first];
    (name->second == "weight" ? entry.weight : entry.bias) = &t;
  }
  if (linears.empty()) throw Error(where + "no tensors" + layout);

  Sequential model;
  std::size_t expected_position = 0;
  for (const auto& [position, tensors] : linears) {
    const std::string linear = "Linear at position " + std::to_string(position);
    if (position != expected_position)
      throw Error(where + linear + ": expected the next Linear at position " +
                  std::to_string(expected_position) + layout);
    if (!tensors.weight)
      throw Error(where + linear + ": missing " + std::to_string(position) + ".weight");
    if (!tensors.bias)
      throw Error(where + linear + ": missing " + std::to_string(position) +
                  ".bias (Linear layers without bias are not supported)");
    if (position != 0)
      add_layer(model, registry.build(pytorch_relu_kind, {}, where + linear), where + linear);
    StateDict state;
    state.add("weight", state_tensor(*tensors.weight));
    state.add("bias", state_tensor(*tensors.bias));
    add_layer(model, registry.build(pytorch_linear_kind, state, where + linear), where + linear);
    expected_position = position + 2;
  }
  return model;
}

}  // namespace

std::vector<std::uint8_t> model_to_safetensors(const Sequential& model) {
  if (model.size() == 0) throw Error("safetensors export: the model has no layers");
  std::vector<StateDict> states;  // the bytes the tensors below view
  states.reserve(model.size());
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata{{"format", "pt"},
                                              {"tinyq.format", model_safetensors_format},
                                              {"tinyq.model", model.describe()}};
  std::string kinds;
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    const std::string prefix = std::to_string(i) + ".";
    if (i != 0) kinds += ',';
    kinds += layer.kind();
    states.push_back(layer.state());
    for (const auto& [key, value] : states.back().attributes) metadata[prefix + key] = value;
    for (const auto& [name, tensor] : states.back().tensors)
      tensors.push_back({prefix + name, tensor.dtype, tensor.shape, tensor.bytes});
  }
  metadata["tinyq.layers"] = kinds;
  return write_safetensors(tensors, metadata);
}

Sequential model_from_safetensors(const SafetensorsFile& file, const std::string& source,
                                  const LayerRegistry& registry) {
  const auto format = file.metadata.find("tinyq.format");
  if (format == file.metadata.end()) return read_pytorch_mlp(file, source, registry);
  if (format->second != model_safetensors_format && format->second != previous_format)
    throw Error(source + ": unknown tinyq.format \"" + format->second + "\" (expected \"" +
                model_safetensors_format + "\" or \"" + previous_format + "\")");
  return read_layers(file, source, registry);
}

std::size_t save_safetensors(const Sequential& model, const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = model_to_safetensors(model);
  write_file_atomically(path, bytes);
  return bytes.size();
}

}  // namespace tinyq
