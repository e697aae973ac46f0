// A minimal JSON value for the programs' --report files.
//
// Objects keep their keys in insertion order so reports read in the order
// they were written. Numbers are printed with the shortest text that reads
// back as the same double (std::to_chars); NaN and infinities, which JSON
// cannot hold, are written as null.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tinyq {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : value_(nullptr) {}
  Json(std::nullptr_t) : value_(nullptr) {}
  Json(bool b) : value_(b) {}
  Json(double d) : value_(d) {}
  Json(int i) : value_(static_cast<double>(i)) {}
  Json(std::int64_t i) : value_(static_cast<double>(i)) {}
  Json(std::uint64_t i) : value_(static_cast<double>(i)) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(Array a) : value_(std::move(a)) {}
  Json(Object o) : value_(std::move(o)) {}

  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }

  // Object: appends key (or replaces it if present). Array: appends.
  Json& set(const std::string& key, Json value);
  Json& push(Json value);

  // Pretty-printed with two-space indentation and a final newline.
  std::string dump() const;

 private:
  void dump_to(std::string& out, int indent) const;
  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> value_;
};

}  // namespace tinyq
