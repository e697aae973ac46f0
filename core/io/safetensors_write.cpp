// safetensors: writing a file, tensors placed as the reference implementation does.
#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "core/io/json_parser.hpp"
#include "core/io/json_writer.hpp"
#include "core/io/safetensors.hpp"

namespace tinyq {

std::vector<std::uint8_t> write_safetensors(std::span<const SafetensorsTensor> tensors,
                                            const std::map<std::string, std::string>& metadata) {
  std::vector<const SafetensorsTensor*> order;
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__")
      throw Error("write_safetensors: \"__metadata__\" is reserved, not a tensor name");
    if (!names.insert(t.name).second)
      throw Error("write_safetensors: two tensors named \"" + t.name + "\"");
    const auto expected = tensor_byte_count(t.dtype, t.shape);
    if (!expected || *expected != t.bytes.size())
      throw Error("write_safetensors: tensor \"" + t.name + "\": shape " +
                  shape_to_string(t.shape) + " of " + std::string(dtype_name(t.dtype)) +
                  " does not match its " + std::to_string(t.bytes.size()) + " bytes");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const SafetensorsTensor* a, const SafetensorsTensor* b) {
    return a->dtype != b->dtype ? a->dtype > b->dtype : a->name < b->name;
  });

  // Names are unique (checked above), so members are appended unsearched.
  JsonValue root = JsonValue::object();
  if (!metadata.empty()) {
    JsonValue entries = JsonValue::object();
    for (const auto& [key, value] : metadata) entries.push(key, value);
    root.push("__metadata__", std::move(entries));
  }
  std::uint64_t offset = 0;
  for (const SafetensorsTensor* t : order) {
    JsonValue shape = JsonValue::array();
    for (const auto d : t->shape) shape.push(d);
    const std::uint64_t end = offset + t->bytes.size();
    root.push(t->name, JsonValue::object({{"dtype", std::string(dtype_name(t->dtype))},
                                          {"shape", std::move(shape)},
                                          {"data_offsets", JsonValue::array({offset, end})}}));
    offset = end;
  }
  std::string header = to_json(root, JsonLayout::compact);
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

}  // namespace tinyq
