// A layer's state as named tensors plus a few text attributes, like PyTorch's
// state_dict: Dense is {"weight": F32 [out, in], "bias": F32 [out]}; a
// quantized layer adds its codes (U8), scales and format. Every file format
// is one mapping of this: the .tqm model file stores each layer's state dict
// (nn/model_file.hpp), safetensors stores tensor "<i>.<name>" and metadata
// "<i>.<attribute>" for the layer at position i (nn/model_safetensors.hpp).
//
// Tensors are little-endian bytes with a dtype and a shape (the safetensors
// dtypes), so codes, float weights and later int32 biases travel alike.
// Layers build themselves back from a state dict (LayerKind::from_state in
// nn/layer_registry.hpp) with a StateReader, which checks each tensor's
// dtype and shape and refuses tensors or attributes the layer did not ask for.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/tensor.hpp"

namespace tinyq {

struct StateTensor {
  Dtype dtype = Dtype::f32;
  std::vector<std::uint64_t> shape;  // outermost first
  std::vector<std::uint8_t> bytes;   // element count × dtype size, little-endian

  static StateTensor of_floats(std::vector<std::uint64_t> shape, std::span<const float> values);
  static StateTensor of_u8(std::vector<std::uint64_t> shape, std::vector<std::uint8_t> values);
  std::uint64_t element_count() const;
  // The F32 values (the dtype is checked by StateReader before this is used).
  std::vector<float> floats() const;

  friend bool operator==(const StateTensor&, const StateTensor&) = default;
};

struct StateDict {
  // In the order the layer lists them (files keep it).
  std::vector<std::pair<std::string, StateTensor>> tensors;
  std::map<std::string, std::string> attributes;

  void add(std::string name, StateTensor tensor);
  const StateTensor* find(const std::string& name) const;
  // Bytes of all tensors: what the layer's parameters take in a file.
  std::size_t tensor_bytes() const;
};

// Throws tinyq::Error, prefixed by `where`, naming the first NaN or infinite
// value of any F32 tensor and its index, e.g.
//   "m.tqm: layer 2 (dense): tensor \"weight\" [3, 17] is NaN".
// Every loader runs this before a layer sees its state: a file is untrusted.
void check_finite(const StateDict& state, const std::string& where);

// Takes tensors and attributes out of a state dict by name, checking them,
// and at the end refuses whatever was not taken. Errors start with `where`.
class StateReader {
 public:
  StateReader(const StateDict& state, std::string where);

  // The tensor `name` with this dtype and exactly this shape.
  const StateTensor& tensor(const std::string& name, Dtype dtype,
                            const std::vector<std::uint64_t>& shape);
  // The tensor `name` with this dtype and rank, any extents (each >= 1):
  // for the tensor that fixes a layer's widths.
  const StateTensor& tensor_of_rank(const std::string& name, Dtype dtype, std::size_t rank);
  Tensor floats(const std::string& name, const Shape& shape);
  const std::string& attribute(const std::string& name);
  // The attribute, or `fallback` when the state does not have it.
  std::string attribute_or(const std::string& name, const std::string& fallback);
  // Throws unless every tensor and attribute was taken.
  void finish() const;
  const std::string& where() const { return where_; }

 private:
  const StateDict& state_;
  std::string where_;
  std::set<std::string> taken_tensors_, taken_attributes_;
};

}  // namespace tinyq
