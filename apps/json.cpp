#include "apps/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"

namespace tinyq {

Json& Json::set(const std::string& key, Json value) {
  auto* object = std::get_if<Object>(&value_);
  if (!object) throw Error("internal: Json::set on a value that is not an object");
  for (auto& [k, v] : *object) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  object->emplace_back(key, std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  auto* array = std::get_if<Array>(&value_);
  if (!array) throw Error("internal: Json::push on a value that is not an array");
  array->push_back(std::move(value));
  return *this;
}

std::string Json::dump() const {
  std::string out;
  dump_to(out, 0);
  return out + "\n";
}

namespace {

void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

void Json::dump_to(std::string& out, int indent) const {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  const std::string close_pad(static_cast<std::size_t>(indent), ' ');
  if (std::holds_alternative<std::nullptr_t>(value_)) {
    out += "null";
  } else if (const auto* b = std::get_if<bool>(&value_)) {
    out += *b ? "true" : "false";
  } else if (const auto* d = std::get_if<double>(&value_)) {
    if (!std::isfinite(*d)) {
      out += "null";
    } else {
      char buf[32];
      const auto result = std::to_chars(buf, buf + sizeof buf, *d);
      out.append(buf, result.ptr);
    }
  } else if (const auto* s = std::get_if<std::string>(&value_)) {
    dump_string(out, *s);
  } else if (const auto* a = std::get_if<Array>(&value_)) {
    if (a->empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      out += pad;
      (*a)[i].dump_to(out, indent + 2);
      out += i + 1 < a->size() ? ",\n" : "\n";
    }
    out += close_pad + "]";
  } else if (const auto* o = std::get_if<Object>(&value_)) {
    if (o->empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    for (std::size_t i = 0; i < o->size(); ++i) {
      out += pad;
      dump_string(out, (*o)[i].first);
      out += ": ";
      (*o)[i].second.dump_to(out, indent + 2);
      out += i + 1 < o->size() ? ",\n" : "\n";
    }
    out += close_pad + "}";
  }
}

}  // namespace tinyq
