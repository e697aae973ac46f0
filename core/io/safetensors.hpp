// Reading and writing safetensors files, the tensor container of the Hugging
// Face ecosystem that PyTorch, numpy and most tools can load.
//
// Layout (all integers little-endian):
//
//   8 bytes   N, a u64: the size of the header
//   N bytes   the header: a UTF-8 JSON object, starting with '{', possibly
//             padded at the end with spaces. Each member but one describes
//             a tensor:
//               "NAME": {"dtype": "F32", "shape": [256, 784],
//                        "data_offsets": [BEGIN, END]}
//             the optional member "__metadata__" maps strings to strings.
//   rest      the data buffer. A tensor's bytes are buffer[BEGIN, END),
//             row-major ("C" order), little-endian elements.
//
// The reader is strict, as the format asks: the header is at least 2 bytes
// ("{}"), at most 100 MB (the reference implementation's limit) and fits in
// the file; it is valid JSON without duplicate keys; each tensor entry has
// exactly the three fields, a known dtype, a shape of non-negative integers
// (rank 0, a scalar, and zero extents are allowed) and offsets with
// BEGIN <= END inside the buffer; END - BEGIN equals the element count
// times the element size (computed without overflow); and the tensors cover
// the buffer exactly, with no byte shared and none left over ("the byte
// buffer needs to be entirely indexed, and cannot contain holes", which
// keeps files from hiding other content). Tensor values are not checked:
// NaN and infinities may appear. The JSON reader's limits (core/io/json_parser.hpp)
// also apply: nesting depth 64 and 2^20 values, room for about 130,000
// rank-2 tensors (8 values each). Every error is one line naming the source.
//
// Dtypes: the byte-sized and larger types of the format (BOOL, U8, I8,
// F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64).
// Sub-byte types of newer versions (F4, F6_*) are refused as unknown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

// In the reference implementation's order (increasing alignment), which the
// writer uses to place tensors.
enum class Dtype {
  boolean,
  u8,
  i8,
  f8_e5m2,
  f8_e4m3,
  i16,
  u16,
  f16,
  bf16,
  i32,
  u32,
  f32,
  f64,
  i64,
  u64
};

std::size_t dtype_size(Dtype dtype);       // bytes per element
std::string_view dtype_name(Dtype dtype);  // as written in files: "F32", "U8", "BOOL", ...
std::optional<Dtype> parse_dtype(std::string_view name);
std::string known_dtype_names();  // "BOOL, U8, ...", for messages

// Element count × element size, or nullopt when it overflows 64 bits.
std::optional<std::uint64_t> tensor_byte_count(Dtype dtype, std::span<const std::uint64_t> shape);
std::string shape_to_string(std::span<const std::uint64_t> shape);  // "[256, 784]"

// One tensor: a view of its bytes, which belong to someone else (the file
// buffer given to read_safetensors, or the caller's buffer when writing).
struct SafetensorsTensor {
  std::string name;
  Dtype dtype = Dtype::f32;
  std::vector<std::uint64_t> shape;  // outermost first; empty for a scalar
  std::span<const std::uint8_t> bytes;

  std::uint64_t element_count() const;  // product of the extents (1 for a scalar)
};

struct SafetensorsFile {
  std::vector<SafetensorsTensor> tensors;  // as read: in the order of their data
  std::map<std::string, std::string> metadata;

  // nullptr when no tensor has that name.
  const SafetensorsTensor* find(std::string_view name) const;
};

inline constexpr std::uint64_t max_safetensors_header_bytes = 100'000'000;

// Parses and validates a whole file held in memory. The tensors' byte views
// point into `bytes`, which must outlive the result. `source` (a file name)
// starts every error message.
SafetensorsFile read_safetensors(std::span<const std::uint8_t> bytes, const std::string& source);

// The whole file. Tensors are placed as the reference implementation places
// them: by dtype, largest alignment first, then by name; their header entries
// come in the same order, after "__metadata__" (omitted when empty, keys
// sorted). The header is padded with spaces to a multiple of 8 bytes, so with
// that order every tensor starts at a multiple of its element size in the
// file. Throws tinyq::Error for duplicate or reserved names, bytes that do
// not match shape and dtype, and names or metadata that are not valid UTF-8.
std::vector<std::uint8_t> write_safetensors(std::span<const SafetensorsTensor> tensors,
                                            const std::map<std::string, std::string>& metadata);

// True when `bytes` start like a safetensors file: an 8-byte header size
// that fits the rest, followed by '{'. (A cheap test for choosing a reader;
// read_safetensors does the real checking.)
bool looks_like_safetensors(std::span<const std::uint8_t> bytes);

// Float32 values to their little-endian bytes, and back from an F32 tensor
// (throws tinyq::Error naming the tensor when its dtype is not F32). The
// bytes need not be aligned.
std::vector<std::uint8_t> f32_bytes(std::span<const float> values);
std::vector<float> f32_values(const SafetensorsTensor& tensor);

}  // namespace tinyq
