// safetensors: dtypes, tensor sizes and float32 conversion.
#include "core/io/safetensors.hpp"

#include <array>
#include <bit>

#include "core/error.hpp"

namespace tinyq {

namespace {

struct DtypeInfo {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DtypeInfo, 15> dtypes{{
    {Dtype::boolean, "BOOL", 1},
    {Dtype::u8, "U8", 1},
    {Dtype::i8, "I8", 1},
    {Dtype::f8_e5m2, "F8_E5M2", 1},
    {Dtype::f8_e4m3, "F8_E4M3", 1},
    {Dtype::i16, "I16", 2},
    {Dtype::u16, "U16", 2},
    {Dtype::f16, "F16", 2},
    {Dtype::bf16, "BF16", 2},
    {Dtype::i32, "I32", 4},
    {Dtype::u32, "U32", 4},
    {Dtype::f32, "F32", 4},
    {Dtype::f64, "F64", 8},
    {Dtype::i64, "I64", 8},
    {Dtype::u64, "U64", 8},
}};

// The table is indexed by the enum's value.
constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < dtypes.size(); ++i)
    if (static_cast<std::size_t>(dtypes[i].dtype) != i) return false;
  return true;
}
static_assert(table_in_enum_order());

const DtypeInfo& info(Dtype dtype) {
  return dtypes[static_cast<std::size_t>(dtype)];
}

// a * b, or nullopt when it does not fit in 64 bits.
std::optional<std::uint64_t> checked_multiply(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return std::nullopt;
  return a * b;
}

}  // namespace

std::size_t dtype_size(Dtype dtype) {
  return info(dtype).size;
}
std::string_view dtype_name(Dtype dtype) {
  return info(dtype).name;
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& d : dtypes)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

std::string known_dtype_names() {
  std::string names;
  for (const auto& d : dtypes) {
    if (!names.empty()) names += ", ";
    names += d.name;
  }
  return names;
}

std::optional<std::uint64_t> tensor_byte_count(Dtype dtype, std::span<const std::uint64_t> shape) {
  std::optional<std::uint64_t> n = 1;
  for (const std::uint64_t extent : shape)
    if (!(n = checked_multiply(*n, extent))) return std::nullopt;
  return checked_multiply(*n, dtype_size(dtype));
}

std::string shape_to_string(std::span<const std::uint64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::uint64_t SafetensorsTensor::element_count() const {
  std::uint64_t n = 1;
  for (const std::uint64_t extent : shape) n *= extent;
  return n;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::uint8_t> f32_bytes(std::span<const float> values) {
  std::vector<std::uint8_t> out(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(values[i]);
    for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<std::uint8_t>(bits >> (8 * k));
  }
  return out;
}

std::vector<float> f32_values(const SafetensorsTensor& tensor) {
  if (tensor.dtype != Dtype::f32)
    throw Error("tensor \"" + tensor.name + "\": expected dtype F32, found " +
                std::string(dtype_name(tensor.dtype)));
  std::vector<float> out(tensor.bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint32_t bits = 0;
    for (int k = 3; k >= 0; --k) bits = (bits << 8) | tensor.bytes[4 * i + k];
    out[i] = std::bit_cast<float>(bits);
  }
  return out;
}

}  // namespace tinyq
