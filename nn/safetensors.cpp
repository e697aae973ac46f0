// safetensors: header validation on read, placement and header text on write.
#include "nn/safetensors.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "nn/json_value.hpp"

namespace tinyq {

namespace {

constexpr std::array<std::pair<Dtype, std::string_view>, 15> dtype_names{{
    {Dtype::boolean, "BOOL"},
    {Dtype::u8, "U8"},
    {Dtype::i8, "I8"},
    {Dtype::f8_e5m2, "F8_E5M2"},
    {Dtype::f8_e4m3, "F8_E4M3"},
    {Dtype::i16, "I16"},
    {Dtype::u16, "U16"},
    {Dtype::f16, "F16"},
    {Dtype::bf16, "BF16"},
    {Dtype::i32, "I32"},
    {Dtype::u32, "U32"},
    {Dtype::f32, "F32"},
    {Dtype::f64, "F64"},
    {Dtype::i64, "I64"},
    {Dtype::u64, "U64"},
}};

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// a * b, or nullopt when it does not fit in 64 bits.
std::optional<std::uint64_t> checked_multiply(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return std::nullopt;
  return a * b;
}

// shape product × element size, or nullopt on overflow.
std::optional<std::uint64_t> byte_count(Dtype dtype, std::span<const std::uint64_t> shape) {
  std::optional<std::uint64_t> n = 1;
  for (const std::uint64_t extent : shape)
    if (!(n = checked_multiply(*n, extent))) return std::nullopt;
  return checked_multiply(*n, dtype_size(dtype));
}

std::string shape_text(std::span<const std::uint64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// JSON string literal: escapes quote, backslash and control characters;
// other UTF-8 is written as is.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += "0123456789abcdef"[u >> 4];
      out += "0123456789abcdef"[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

// Reads one tensor entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]}.
struct Entry {
  SafetensorsTensor tensor;
  std::uint64_t begin = 0, end = 0;
};

Entry read_entry(const std::string& name, const JsonValue& value, const std::string& where) {
  const std::string tensor = where + "tensor \"" + name + "\": ";
  if (!value.is_object())
    throw Error(tensor + "expected an object, found " + to_string(value.kind()));
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string& key = value.key(i);
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(tensor + "unexpected field \"" + key +
                  "\" (expected exactly dtype, shape and data_offsets)");
  }
  const JsonValue* dtype = value.find("dtype");
  const JsonValue* shape = value.find("shape");
  const JsonValue* offsets = value.find("data_offsets");
  if (!dtype) throw Error(tensor + "missing field \"dtype\"");
  if (!shape) throw Error(tensor + "missing field \"shape\"");
  if (!offsets) throw Error(tensor + "missing field \"data_offsets\"");

  Entry entry;
  entry.tensor.name = name;
  if (!dtype->is_string())
    throw Error(tensor + "dtype must be a string, found " + to_string(dtype->kind()));
  const auto parsed = parse_dtype(dtype->string());
  if (!parsed) {
    std::string known;
    for (const auto& [d, n] : dtype_names) {
      if (!known.empty()) known += ", ";
      known += n;
    }
    throw Error(tensor + "unknown dtype \"" + dtype->string() + "\" (known: " + known + ")");
  }
  entry.tensor.dtype = *parsed;

  if (!shape->is_array())
    throw Error(tensor + "shape must be an array, found " + to_string(shape->kind()));
  for (std::size_t i = 0; i < shape->size(); ++i) {
    const auto extent = (*shape)[i].as_whole_number();
    if (!extent)
      throw Error(tensor + "shape entry " + std::to_string(i) +
                  " must be a non-negative integer, found " +
                  ((*shape)[i].is_number() ? (*shape)[i].number_text()
                                           : std::string(to_string((*shape)[i].kind()))));
    entry.tensor.shape.push_back(*extent);
  }

  if (!offsets->is_array() || offsets->size() != 2)
    throw Error(tensor + "data_offsets must be an array [begin, end]");
  const auto begin = (*offsets)[0].as_whole_number();
  const auto end = (*offsets)[1].as_whole_number();
  if (!begin || !end) throw Error(tensor + "data_offsets must be non-negative integers");
  if (*begin > *end)
    throw Error(tensor + "data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                "] end before they begin");
  entry.begin = *begin;
  entry.end = *end;

  const auto expected = byte_count(entry.tensor.dtype, entry.tensor.shape);
  if (!expected)
    throw Error(tensor + "shape " + shape_text(entry.tensor.shape) + " of " +
                std::string(dtype_name(entry.tensor.dtype)) + " overflows 64 bits of bytes");
  if (*expected != *end - *begin)
    throw Error(tensor + "shape " + shape_text(entry.tensor.shape) + " of " +
                std::string(dtype_name(entry.tensor.dtype)) + " needs " +
                std::to_string(*expected) + " bytes, data_offsets give " +
                std::to_string(*end - *begin));
  return entry;
}

}  // namespace

std::size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::boolean:
    case Dtype::u8:
    case Dtype::i8:
    case Dtype::f8_e5m2:
    case Dtype::f8_e4m3:
      return 1;
    case Dtype::i16:
    case Dtype::u16:
    case Dtype::f16:
    case Dtype::bf16:
      return 2;
    case Dtype::i32:
    case Dtype::u32:
    case Dtype::f32:
      return 4;
    case Dtype::f64:
    case Dtype::i64:
    case Dtype::u64:
      return 8;
  }
  return 1;
}

std::string_view dtype_name(Dtype dtype) {
  for (const auto& [d, name] : dtype_names)
    if (d == dtype) return name;
  return "?";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& [d, n] : dtype_names)
    if (n == name) return d;
  return std::nullopt;
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

SafetensorsFile read_safetensors(std::span<const std::uint8_t> bytes, const std::string& source) {
  const std::string where = source + ": safetensors: ";
  if (bytes.size() < 8)
    throw Error(where + "file is " + std::to_string(bytes.size()) +
                " bytes, too short for the 8-byte header size");
  const std::uint64_t header_size = read_u64_le(bytes.data());
  const std::uint64_t after_size = bytes.size() - 8;
  if (header_size < 2)
    throw Error(where + "header size " + std::to_string(header_size) + " is below 2 bytes");
  if (header_size > max_safetensors_header_bytes)
    throw Error(where + "header size " + std::to_string(header_size) + " exceeds the limit of " +
                std::to_string(max_safetensors_header_bytes) + " bytes");
  if (header_size > after_size)
    throw Error(where + "header size " + std::to_string(header_size) + " exceeds the " +
                std::to_string(after_size) + " bytes after the size field");
  const auto header = bytes.subspan(8, header_size);
  if (header[0] != '{') throw Error(where + "header does not start with '{' at byte 8");
  const JsonValue root =
      parse_json({reinterpret_cast<const char*>(header.data()), header.size()}, source, 8);
  if (!root.is_object()) throw Error(where + "header is not a JSON object");

  const auto data = bytes.subspan(8 + header_size);
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < root.size(); ++i) {
    const std::string& name = root.key(i);
    const JsonValue& value = root[i];
    if (name == "__metadata__") {
      if (!value.is_object())
        throw Error(where + "__metadata__ must be an object, found " + to_string(value.kind()));
      for (std::size_t k = 0; k < value.size(); ++k) {
        if (!value[k].is_string())
          throw Error(where + "__metadata__ value of \"" + value.key(k) +
                      "\" must be a string, found " + to_string(value[k].kind()));
        file.metadata[value.key(k)] = value[k].string();
      }
      continue;
    }
    entries.push_back(read_entry(name, value, where));
    const Entry& e = entries.back();
    if (e.end > data.size())
      throw Error(where + "tensor \"" + name + "\": data_offsets [" + std::to_string(e.begin) +
                  ", " + std::to_string(e.end) + "] lie outside the data buffer of " +
                  std::to_string(data.size()) + " bytes");
  }

  // Sorted by offsets, each tensor must start where the previous one ended
  // and the last must end at the end of the buffer: no overlap, no hole.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (Entry& e : entries) {
    if (e.begin < covered)
      throw Error(where + "tensor \"" + e.tensor.name + "\" (bytes " + std::to_string(e.begin) +
                  ".." + std::to_string(e.end) + ") overlaps tensor \"" + previous->tensor.name +
                  "\" (bytes " + std::to_string(previous->begin) + ".." +
                  std::to_string(previous->end) + ")");
    if (e.begin > covered)
      throw Error(where + "data bytes " + std::to_string(covered) + ".." + std::to_string(e.begin) +
                  " belong to no tensor (holes are not allowed)");
    covered = e.end;
    previous = &e;
  }
  if (covered != data.size())
    throw Error(where + "data bytes " + std::to_string(covered) + ".." +
                std::to_string(data.size()) + " at the end belong to no tensor");
  for (Entry& e : entries) {
    e.tensor.bytes = data.subspan(e.begin, e.end - e.begin);
    file.tensors.push_back(std::move(e.tensor));
  }
  return file;
}

std::vector<std::uint8_t> write_safetensors(std::span<const SafetensorsTensor> tensors,
                                            const std::map<std::string, std::string>& metadata) {
  std::vector<const SafetensorsTensor*> order;
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__")
      throw Error("write_safetensors: \"__metadata__\" is reserved, not a tensor name");
    if (!names.insert(t.name).second)
      throw Error("write_safetensors: two tensors named \"" + t.name + "\"");
    const auto expected = byte_count(t.dtype, t.shape);
    if (!expected || *expected != t.bytes.size())
      throw Error("write_safetensors: tensor \"" + t.name + "\": shape " + shape_text(t.shape) +
                  " of " + std::string(dtype_name(t.dtype)) + " does not match its " +
                  std::to_string(t.bytes.size()) + " bytes");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const SafetensorsTensor* a, const SafetensorsTensor* b) {
    return a->dtype != b->dtype ? a->dtype > b->dtype : a->name < b->name;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      append_json_string(header, key);
      header += ':';
      append_json_string(header, value);
    }
    header += '}';
  }
  std::uint64_t offset = 0;
  for (const SafetensorsTensor* t : order) {
    if (header.size() > 1) header += ',';
    append_json_string(header, t->name);
    header += ":{\"dtype\":\"" + std::string(dtype_name(t->dtype)) + "\",\"shape\":[";
    for (std::size_t i = 0; i < t->shape.size(); ++i) {
      if (i) header += ',';
      header += std::to_string(t->shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + ",";
    offset += t->bytes.size();
    header += std::to_string(offset) + "]}";
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > max_safetensors_header_bytes)
    throw Error("write_safetensors: header of " + std::to_string(header.size()) +
                " bytes exceeds the limit of " + std::to_string(max_safetensors_header_bytes));
  try {
    parse_json(header, "header");  // names and metadata must be valid UTF-8
  } catch (const Error& e) {
    throw Error(std::string("write_safetensors: names and metadata must be valid UTF-8 (") +
                e.what() + ")");
  }

  std::vector<std::uint8_t> out(8 + header.size() + offset);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(header.size() >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  std::size_t at = 8 + header.size();
  for (const SafetensorsTensor* t : order) {
    if (!t->bytes.empty()) std::memcpy(out.data() + at, t->bytes.data(), t->bytes.size());
    at += t->bytes.size();
  }
  return out;
}

bool looks_like_safetensors(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 10) return false;
  const std::uint64_t header_size = read_u64_le(bytes.data());
  return header_size >= 2 && header_size <= bytes.size() - 8 && bytes[8] == '{';
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
