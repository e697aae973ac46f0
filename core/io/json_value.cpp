// JsonValue: building values, and the accessors, each checking the kind of
// value it is asked for.
#include "core/io/json_value.hpp"

#include <charconv>
#include <cmath>

#include "core/error.hpp"

namespace tinyq {

const char* to_string(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::null:
      return "null";
    case JsonValue::Kind::boolean:
      return "boolean";
    case JsonValue::Kind::number:
      return "number";
    case JsonValue::Kind::string:
      return "string";
    case JsonValue::Kind::array:
      return "array";
    case JsonValue::Kind::object:
      return "object";
  }
  return "?";
}

JsonValue::JsonValue(double d) {
  if (!std::isfinite(d)) return;  // null
  kind_ = Kind::number;
  number_ = d;
  char buffer[32];  // the longest shortest double, "-2.2250738585072014e-308", is 24
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  text_.assign(buffer, result.ptr);
}

JsonValue JsonValue::array(std::initializer_list<JsonValue> items) {
  JsonValue v = make(Kind::array, 0);
  v.items_.assign(items.begin(), items.end());
  return v;
}

JsonValue JsonValue::object(std::initializer_list<std::pair<std::string, JsonValue>> members) {
  JsonValue v = make(Kind::object, 0);
  for (const auto& [key, value] : members) v.set(key, value);
  return v;
}

JsonValue& JsonValue::set(std::string_view key, JsonValue value) {
  require(Kind::object, "set()");
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) {
      items_[i] = std::move(value);
      return *this;
    }
  push(std::string(key), std::move(value));
  return *this;
}

void JsonValue::push(JsonValue value) {
  require(Kind::array, "push()");
  items_.push_back(std::move(value));
}

JsonValue JsonValue::make(Kind kind, std::size_t offset) {
  JsonValue v;
  v.kind_ = kind;
  v.offset_ = offset;
  return v;
}

void JsonValue::set_number(double value, std::string text) {
  number_ = value;
  text_ = std::move(text);
}

void JsonValue::push(std::string key, JsonValue value) {
  require(Kind::object, "push(key, value)");
  keys_.push_back(std::move(key));
  items_.push_back(std::move(value));
}

void JsonValue::require(Kind kind, const char* what) const {
  if (kind_ != kind)
    throw Error(std::string("JSON value at byte ") + std::to_string(offset_) + ": " + what +
                " needs " + to_string(kind) + ", found " + to_string(kind_));
}

bool JsonValue::boolean() const {
  require(Kind::boolean, "boolean()");
  return boolean_;
}
double JsonValue::number() const {
  require(Kind::number, "number()");
  return number_;
}
const std::string& JsonValue::number_text() const {
  require(Kind::number, "number_text()");
  return text_;
}
const std::string& JsonValue::string() const {
  require(Kind::string, "string()");
  return text_;
}

std::optional<std::uint64_t> JsonValue::as_whole_number() const {
  if (kind_ != Kind::number) return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text_.data() + text_.size();
  const auto [ptr, ec] = std::from_chars(text_.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;  // sign, fraction, exponent, overflow
  return value;
}

std::size_t JsonValue::size() const {
  if (kind_ != Kind::array && kind_ != Kind::object) require(Kind::array, "size()");
  return items_.size();
}
const JsonValue& JsonValue::operator[](std::size_t i) const {
  if (i >= size())
    throw Error("JSON value at byte " + std::to_string(offset_) + ": element " + std::to_string(i) +
                " of " + std::to_string(items_.size()) + " requested");
  return items_[i];
}
const std::string& JsonValue::key(std::size_t i) const {
  require(Kind::object, "key()");
  return keys_.at(i);
}
const JsonValue* JsonValue::find(std::string_view key) const {
  require(Kind::object, "find()");
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &items_[i];
  return nullptr;
}

}  // namespace tinyq
