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
//
// Numbers keep their text as well as their double value, so an integer such
// as a file offset above 2^53 is read back exactly (as_whole_number).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

class JsonValue {
 public:
  enum class Kind { null, boolean, number, string, array, object };

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_boolean() const { return kind_ == Kind::boolean; }
  bool is_number() const { return kind_ == Kind::number; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }
  // Where the value starts, in bytes from the start of the text (plus the
  // base offset given to parse_json).
  std::size_t offset() const { return offset_; }

  // The accessors below throw tinyq::Error when the value is of another kind.
  bool boolean() const;
  double number() const;
  // The number as written, e.g. "1e3" or "-0.5".
  const std::string& number_text() const;
  // The value when it is written as a non-negative integer without fraction
  // or exponent ("0", "784") and fits in 64 bits; nullopt otherwise.
  std::optional<std::uint64_t> as_whole_number() const;
  const std::string& string() const;  // decoded, UTF-8

  // Arrays and objects: the number of elements or members, and each in the
  // order written.
  std::size_t size() const;
  const JsonValue& operator[](std::size_t i) const;  // checked
  // Objects: the key of member i, and lookup by key (nullptr if absent).
  const std::string& key(std::size_t i) const;
  const JsonValue* find(std::string_view key) const;

  // Used by the parser.
  static JsonValue make(Kind kind, std::size_t offset);
  void set_boolean(bool b) { boolean_ = b; }
  void set_number(double value, std::string text);
  void set_string(std::string text) { text_ = std::move(text); }
  void push(JsonValue value) { items_.push_back(std::move(value)); }
  void push(std::string key, JsonValue value);

 private:
  void require(Kind kind, const char* what) const;

  Kind kind_ = Kind::null;
  std::size_t offset_ = 0;
  bool boolean_ = false;
  double number_ = 0.0;
  std::string text_;               // string contents, or a number's text
  std::vector<JsonValue> items_;   // array elements or object member values
  std::vector<std::string> keys_;  // object member keys, parallel to items_
};

// Lowercase name of a kind, for messages: "object", "array", ...
const char* to_string(JsonValue::Kind kind);

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
