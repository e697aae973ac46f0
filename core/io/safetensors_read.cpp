// safetensors: reading a file, with every check the format asks for.
#include <algorithm>

#include "core/error.hpp"
#include "core/io/json_parser.hpp"
#include "core/io/safetensors.hpp"

namespace tinyq {

namespace {

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// One tensor of the header and where its bytes are in the data buffer.
struct Entry {
  SafetensorsTensor tensor;
  std::uint64_t begin = 0, end = 0;
};

// Reads one tensor entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]}.
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
  if (!parsed)
    throw Error(tensor + "unknown dtype \"" + dtype->string() +
                "\" (known: " + known_dtype_names() + ")");
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

  const auto expected = tensor_byte_count(entry.tensor.dtype, entry.tensor.shape);
  if (!expected)
    throw Error(tensor + "shape " + shape_to_string(entry.tensor.shape) + " of " +
                std::string(dtype_name(entry.tensor.dtype)) + " overflows 64 bits of bytes");
  if (*expected != *end - *begin)
    throw Error(tensor + "shape " + shape_to_string(entry.tensor.shape) + " of " +
                std::string(dtype_name(entry.tensor.dtype)) + " needs " +
                std::to_string(*expected) + " bytes, data_offsets give " +
                std::to_string(*end - *begin));
  return entry;
}

}  // namespace

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

bool looks_like_safetensors(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 10) return false;
  const std::uint64_t header_size = read_u64_le(bytes.data());
  return header_size >= 2 && header_size <= bytes.size() - 8 && bytes[8] == '{';
}

}  // namespace tinyq
