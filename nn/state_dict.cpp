// Named tensors: building them, checking them, taking them apart.
#include "nn/state_dict.hpp"

#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace tinyq {

namespace {

std::string describe(Dtype dtype, std::span<const std::uint64_t> shape) {
  return std::string(dtype_name(dtype)) + " " + shape_to_string(shape);
}

// "[3, 17]": the multi-index of flat element `flat` in a row-major shape.
std::string index_text(std::uint64_t flat, const std::vector<std::uint64_t>& shape) {
  std::vector<std::uint64_t> index(shape.size());
  for (std::size_t d = shape.size(); d > 0; --d) {
    index[d - 1] = flat % shape[d - 1];
    flat /= shape[d - 1];
  }
  return shape_to_string(index);
}

}  // namespace

StateTensor StateTensor::of_floats(std::vector<std::uint64_t> shape,
                                   std::span<const float> values) {
  return {Dtype::f32, std::move(shape), f32_bytes(values)};
}

StateTensor StateTensor::of_u8(std::vector<std::uint64_t> shape, std::vector<std::uint8_t> values) {
  return {Dtype::u8, std::move(shape), std::move(values)};
}

std::uint64_t StateTensor::element_count() const {
  std::uint64_t count = 1;
  for (const std::uint64_t extent : shape) count *= extent;
  return count;
}

std::vector<float> StateTensor::floats() const {
  if (dtype != Dtype::f32)
    throw Error("expected an F32 tensor, found " + std::string(dtype_name(dtype)));
  std::vector<float> values(bytes.size() / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

void StateDict::add(std::string name, StateTensor tensor) {
  tensors.emplace_back(std::move(name), std::move(tensor));
}

const StateTensor* StateDict::find(const std::string& name) const {
  for (const auto& [tensor_name, tensor] : tensors)
    if (tensor_name == name) return &tensor;
  return nullptr;
}

std::size_t StateDict::tensor_bytes() const {
  std::size_t total = 0;
  for (const auto& entry : tensors) total += entry.second.bytes.size();
  return total;
}

void check_finite(const StateDict& state, const std::string& where) {
  for (const auto& [name, tensor] : state.tensors) {
    if (tensor.dtype != Dtype::f32) continue;
    const std::size_t count = tensor.bytes.size() / sizeof(float);
    for (std::size_t i = 0; i < count; ++i) {
      float value;
      std::memcpy(&value, tensor.bytes.data() + i * sizeof(float), sizeof value);
      if (std::isfinite(value)) continue;
      throw Error(where + ": tensor \"" + name + "\" " + index_text(i, tensor.shape) + " is " +
                  (std::isnan(value) ? "NaN"
                   : value > 0       ? "+infinity"
                                     : "-infinity") +
                  " (model parameters must be finite)");
    }
  }
}

StateReader::StateReader(const StateDict& state, std::string where)
    : state_(state), where_(std::move(where)) {}

const StateTensor& StateReader::tensor(const std::string& name, Dtype dtype,
                                       const std::vector<std::uint64_t>& shape) {
  const StateTensor* t = state_.find(name);
  if (!t) throw Error(where_ + ": missing tensor \"" + name + "\"");
  if (t->dtype != dtype || t->shape != shape)
    throw Error(where_ + ": tensor \"" + name + "\": expected " + describe(dtype, shape) +
                ", found " + describe(t->dtype, t->shape));
  taken_tensors_.insert(name);
  return *t;
}

const StateTensor& StateReader::tensor_of_rank(const std::string& name, Dtype dtype,
                                               std::size_t rank) {
  const StateTensor* t = state_.find(name);
  if (!t) throw Error(where_ + ": missing tensor \"" + name + "\"");
  bool extents_ok = t->shape.size() == rank;
  for (const std::uint64_t extent : t->shape) extents_ok = extents_ok && extent >= 1;
  if (t->dtype != dtype || !extents_ok)
    throw Error(where_ + ": tensor \"" + name + "\": expected " + std::string(dtype_name(dtype)) +
                " of rank " + std::to_string(rank) + " with every extent >= 1, found " +
                describe(t->dtype, t->shape));
  taken_tensors_.insert(name);
  return *t;
}

Tensor StateReader::floats(const std::string& name, const Shape& shape) {
  std::vector<std::uint64_t> extents;
  for (std::size_t d = 0; d < shape.rank(); ++d) extents.push_back(shape[d]);
  return Tensor(shape, tensor(name, Dtype::f32, extents).floats());
}

const std::string& StateReader::attribute(const std::string& name) {
  const auto it = state_.attributes.find(name);
  if (it == state_.attributes.end()) throw Error(where_ + ": missing attribute \"" + name + "\"");
  taken_attributes_.insert(name);
  return it->second;
}

std::string StateReader::attribute_or(const std::string& name, const std::string& fallback) {
  return state_.attributes.count(name) ? attribute(name) : fallback;
}

void StateReader::finish() const {
  for (const auto& entry : state_.tensors)
    if (!taken_tensors_.count(entry.first))
      throw Error(where_ + ": unexpected tensor \"" + entry.first + "\"");
  for (const auto& entry : state_.attributes)
    if (!taken_attributes_.count(entry.first))
      throw Error(where_ + ": unexpected attribute \"" + entry.first + "\"");
}

}  // namespace tinyq
