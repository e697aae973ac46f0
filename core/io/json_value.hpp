// JsonValue: one JSON value (null, boolean, number, string, array or
// object): what core/io/json_parser.hpp reads (safetensors headers) and
// core/io/json_writer.hpp prints (safetensors headers, the --report files).
//
// Objects keep their members in the order written; numbers keep their text
// as well as their double value, so an integer such as a file offset above
// 2^53 is read back (as_whole_number) and printed exactly.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tinyq {

class JsonValue {
 public:
  enum class Kind { null, boolean, number, string, array, object };

  // Building values. An integer keeps its exact digits; a double gets the
  // shortest text that reads back as the same double (std::to_chars), and a
  // NaN or infinity, which JSON cannot hold, becomes null.
  JsonValue() = default;  // null
  JsonValue(std::nullptr_t) {}
  JsonValue(bool b) : kind_(Kind::boolean), boolean_(b) {}
  JsonValue(double d);
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonValue(T i)
      : kind_(Kind::number), number_(static_cast<double>(i)), text_(std::to_string(i)) {}
  JsonValue(const char* s) : kind_(Kind::string), text_(s) {}
  JsonValue(std::string s) : kind_(Kind::string), text_(std::move(s)) {}
  static JsonValue array(std::initializer_list<JsonValue> items = {});
  static JsonValue object(std::initializer_list<std::pair<std::string, JsonValue>> members = {});

  // Objects: sets member `key`, replacing its value if present, else
  // appending it. Returns *this, so calls chain.
  JsonValue& set(std::string_view key, JsonValue value);
  // Arrays: appends an element.
  void push(JsonValue value);
  // Objects: appends a member without looking for `key` first, for callers
  // that know it is new (the parser, writers of unique names).
  void push(std::string key, JsonValue value);

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

  // Used by the parser: a value of `kind` found at `offset`.
  static JsonValue make(Kind kind, std::size_t offset);
  void set_boolean(bool b) { boolean_ = b; }
  void set_number(double value, std::string text);
  void set_string(std::string text) { text_ = std::move(text); }

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

}  // namespace tinyq
