// Printing a JsonValue as JSON text (RFC 8259).
//
// Numbers are printed as their text (JsonValue keeps it: the shortest
// round-trip form of a double, the exact digits of an integer, or what the
// parser read). Strings are written as they are stored, with '"', '\' and
// the control characters escaped (\n, \r and \t by name, others as \u00XX);
// other bytes, UTF-8 included, pass through unchanged.
#pragma once

#include <string>

#include "core/io/json_value.hpp"

namespace tinyq {

enum class JsonLayout {
  pretty,   // two spaces per level, one element or member per line, a final
            // newline: the --report files
  compact,  // no whitespace at all: safetensors headers
};

std::string to_json(const JsonValue& value, JsonLayout layout = JsonLayout::pretty);

}  // namespace tinyq
