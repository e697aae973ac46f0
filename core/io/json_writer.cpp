// Printing a JsonValue: a recursive walk, indenting in the pretty layout.
#include "core/io/json_writer.hpp"

namespace tinyq {

namespace {

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
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

void write_value(std::string& out, const JsonValue& v, JsonLayout layout, std::size_t depth) {
  const bool pretty = layout == JsonLayout::pretty;
  // Before each element or member, and before the closing bracket.
  auto new_line = [&](std::size_t level) {
    if (pretty) out.append("\n").append(2 * level, ' ');
  };
  switch (v.kind()) {
    case JsonValue::Kind::null:
      out += "null";
      return;
    case JsonValue::Kind::boolean:
      out += v.boolean() ? "true" : "false";
      return;
    case JsonValue::Kind::number:
      out += v.number_text();
      return;
    case JsonValue::Kind::string:
      write_string(out, v.string());
      return;
    case JsonValue::Kind::array:
    case JsonValue::Kind::object:
      break;
  }
  const bool object = v.is_object();
  out += object ? '{' : '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    new_line(depth + 1);
    if (object) {
      write_string(out, v.key(i));
      out += pretty ? ": " : ":";
    }
    write_value(out, v[i], layout, depth + 1);
  }
  if (v.size() > 0) new_line(depth);
  out += object ? '}' : ']';
}

}  // namespace

std::string to_json(const JsonValue& value, JsonLayout layout) {
  std::string out;
  write_value(out, value, layout, 0);
  if (layout == JsonLayout::pretty) out += '\n';
  return out;
}

}  // namespace tinyq
