// The PyTorch nn.Sequential naming of an MLP's parameters, read and written.
#include "nn/safetensors_mlp.hpp"

#include <charconv>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"

namespace tinyq {

namespace {

struct LinearTensors {
  const SafetensorsTensor* weight = nullptr;
  const SafetensorsTensor* bias = nullptr;
};

// "12.weight" -> (12, "weight"); nullopt unless the name is index.suffix
// with a plain decimal index (no sign, no leading zero) below a million.
std::optional<std::pair<std::size_t, std::string>> split_name(const std::string& name) {
  const auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 6) return std::nullopt;
  if (name[0] == '0' && dot != 1) return std::nullopt;
  std::size_t index = 0;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + dot, index);
  if (ec != std::errc() || ptr != name.data() + dot) return std::nullopt;
  return std::pair{index, name.substr(dot + 1)};
}

}  // namespace

Sequential sequential_from_safetensors(const SafetensorsFile& file, const std::string& source) {
  const std::string where = source + ": ";
  const std::string layout =
      " (expected an nn.Sequential of Linear and ReLU: tensors <i>.weight and <i>.bias "
      "for Linear layers at positions 0, 2, 4, ...)";
  std::map<std::size_t, LinearTensors> linears;  // by position, in order
  for (const auto& t : file.tensors) {
    const auto split = split_name(t.name);
    if (!split || (split->second != "weight" && split->second != "bias"))
      throw Error(where + "unexpected tensor \"" + t.name + "\"" + layout);
    auto& entry = linears[split->first];
    (split->second == "weight" ? entry.weight : entry.bias) = &t;
  }
  if (linears.empty()) throw Error(where + "no tensors" + layout);

  Sequential model;
  std::size_t expected_position = 0;
  std::size_t previous_out = 0;
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
    const SafetensorsTensor& w = *tensors.weight;
    const SafetensorsTensor& b = *tensors.bias;
    if (w.dtype != Dtype::f32 || b.dtype != Dtype::f32)
      throw Error(where + linear + ": expected F32 weight and bias, found " +
                  std::string(dtype_name(w.dtype)) + " and " + std::string(dtype_name(b.dtype)));
    if (w.shape.size() != 2 || w.shape[0] == 0 || w.shape[1] == 0)
      throw Error(where + w.name + ": expected shape [out, in] with both >= 1, found " +
                  shape_to_string(w.shape));
    const std::size_t out = w.shape[0], in = w.shape[1];
    if (b.shape.size() != 1 || b.shape[0] != out)
      throw Error(where + b.name + ": expected shape [" + std::to_string(out) + "], found " +
                  shape_to_string(b.shape));
    if (position != 0 && in != previous_out)
      throw Error(where + w.name + ": input width " + std::to_string(in) +
                  " does not match the previous Linear's output width " +
                  std::to_string(previous_out));

    if (position != 0) model.add(std::make_unique<Relu>());
    auto dense = std::make_unique<Dense>(in, out);
    const auto weights = f32_values(w);
    const auto biases = f32_values(b);
    std::copy(weights.begin(), weights.end(), dense->weight().values().begin());
    std::copy(biases.begin(), biases.end(), dense->bias().values().begin());
    model.add(std::move(dense));
    previous_out = out;
    expected_position = position + 2;
  }
  return model;
}

std::vector<std::uint8_t> safetensors_from_sequential(const Sequential& model) {
  if (model.size() == 0) throw Error("safetensors export: the model has no layers");
  // Byte buffers first (the tensors below are views of them).
  std::vector<std::vector<std::uint8_t>> buffers;
  std::vector<SafetensorsTensor> tensors;
  buffers.reserve(model.size() * 2);
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    const bool want_dense = i % 2 == 0;
    const auto* dense = dynamic_cast<const Dense*>(&layer);
    const bool fits = want_dense ? dense != nullptr : dynamic_cast<const Relu*>(&layer) != nullptr;
    if (!fits || (i + 1 == model.size() && !want_dense))
      throw Error("safetensors export: layer " + std::to_string(i) + " is " + layer.describe() +
                  "; the PyTorch layout needs Dense at even positions, ReLU between them, and "
                  "Dense last");
    if (!dense) continue;
    buffers.push_back(f32_bytes(dense->weight().values()));
    tensors.push_back({std::to_string(i) + ".weight",
                       Dtype::f32,
                       {dense->outputs(), dense->inputs()},
                       buffers.back()});
    buffers.push_back(f32_bytes(dense->bias().values()));
    tensors.push_back(
        {std::to_string(i) + ".bias", Dtype::f32, {dense->outputs()}, buffers.back()});
  }
  return write_safetensors(tensors, {{"format", "pt"}, {"tinyq.model", model.describe()}});
}

}  // namespace tinyq
