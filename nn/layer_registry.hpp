// The one registry of layer kinds: for each kind name ("dense", "relu",
// "quantized_dense", ...) how to build the layer from its state dict. Both
// file formats read through it (nn/model_file.hpp, nn/model_safetensors.hpp),
// and nothing outside the registry and the layer files names a kind.
//
// Adding a layer kind: write the layer (state() and a from_state function),
// then add one line to float_layers() (nn) or all_layers() (quant).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/io/binary_io.hpp"
#include "nn/layer.hpp"
#include "nn/state_dict.hpp"

namespace tinyq {

struct LayerKind {
  std::string name;
  // Builds the layer from a state dict whose values are known to be finite;
  // refuses (tinyq::Error starting with `where`) anything inconsistent.
  std::function<std::unique_ptr<Layer>(const StateDict& state, const std::string& where)>
      from_state;
  // Translates a version 1 .tqm payload (files written before state dicts)
  // into a state dict. Empty for kinds born after version 1.
  std::function<StateDict(BinaryReader& payload)> read_v1_payload;
};

class LayerRegistry {
 public:
  void add(LayerKind kind);
  bool knows(const std::string& name) const { return kinds_.count(name) != 0; }
  // Throws tinyq::Error naming `name` and the known kinds.
  const LayerKind& find(const std::string& name, const std::string& where) const;
  // The layer: values checked finite (check_finite), then kind.from_state.
  std::unique_ptr<Layer> build(const std::string& name, const StateDict& state,
                               const std::string& where) const;

 private:
  std::map<std::string, LayerKind> kinds_;
};

// Dense and ReLU.
LayerRegistry float_layers();

// A float MLP saved by PyTorch (nn.Sequential of Linear and ReLU) names no
// kinds; nn/model_safetensors.cpp reads its Linear and ReLU layers as these.
inline constexpr const char* pytorch_linear_kind = "dense";
inline constexpr const char* pytorch_relu_kind = "relu";

}  // namespace tinyq
