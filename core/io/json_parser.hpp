// A small, strict JSON reader (RFC 8259), used to read safetensors headers.
//
// It accepts exactly the JSON grammar: objects, arrays, strings (with every
// escape, including \uXXXX and UTF-16 surrogate pairs, decoded to UTF-8),
// numbers, true, false and null, separated by optional whitespace. It refuses
// what lenient parsers let through: trailing commas, single quotes, comments,
// leading zeros, NaN/Infinity, unescaped control characters, invalid UTF-8,
// lone surrogates and duplicate keys in one object. Limits on nesting depth
// and on the number of values keep hostile input from exhausting the stack or
// memory, and numbers beyond the range of a double (1e999, 1e-400) are
// refused rather than rounded to infinity or zero. Every error names the
// source and the byte offset where it was found.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/io/json_value.hpp"

namespace tinyq {

struct JsonLimits {
  std::size_t max_depth = 64;         // nested arrays/objects
  std::size_t max_values = 1u << 20;  // values of any kind in the whole text
};

// Parses a whole JSON text (one value, surrounded by optional whitespace).
// Throws tinyq::Error "<source>: JSON: <what> at byte <offset>" where
// offset = base_offset + position in text (so a caller parsing a slice of a
// file reports offsets in the file).
JsonValue parse_json(std::string_view text, const std::string& source, std::size_t base_offset = 0,
                     const JsonLimits& limits = {});

}  // namespace tinyq
