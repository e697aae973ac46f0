// The strict JSON reader: a recursive-descent parser over the RFC 8259 grammar.
#include "core/io/json_parser.hpp"

#include <charconv>
#include <unordered_set>

#include "core/error.hpp"
#include "core/io/utf8.hpp"

namespace tinyq {

namespace {

class Parser {
 public:
  Parser(std::string_view text, const std::string& source, std::size_t base,
         const JsonLimits& limits)
      : text_(text), source_(source), base_(base), limits_(limits) {}

  JsonValue parse_document() {
    skip_whitespace();
    if (at_end()) fail("empty text, expected a value");
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (!at_end()) fail(std::string("unexpected ") + describe_here() + " after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(what, pos_); }
  [[noreturn]] void fail_at(const std::string& what, std::size_t pos) const {
    throw Error(source_ + ": JSON: " + what + " at byte " + std::to_string(base_ + pos));
  }
  bool at_end() const { return pos_ >= text_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(text_[pos_]); }
  std::string describe_here() const {
    if (at_end()) return "end of text";
    const unsigned char c = peek();
    if (c >= 0x20 && c < 0x7f) return std::string("'") + char(c) + "'";
    return "byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
  }
  void expect(char c, const char* context) {
    if (at_end() || text_[pos_] != c)
      fail(std::string("expected '") + c + "' " + context + ", found " + describe_here());
    ++pos_;
  }

  // RFC 8259 whitespace: space, tab, line feed, carriage return; nothing else.
  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }

  JsonValue parse_value(std::size_t depth) {
    if (++values_ > limits_.max_values)
      fail("more than " + std::to_string(limits_.max_values) + " values");
    if (at_end()) fail("expected a value, found end of text");
    const char c = text_[pos_];
    if (c == '{') return parse_object(depth + 1);
    if (c == '[') return parse_array(depth + 1);
    if (c == '"') {
      JsonValue v = JsonValue::make(JsonValue::Kind::string, base_ + pos_);
      v.set_string(parse_string());
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (literal("true")) return boolean_value(true);
    if (literal("false")) return boolean_value(false);
    if (literal("null")) return JsonValue::make(JsonValue::Kind::null, base_ + pos_ - 4);
    fail("expected a value, found " + describe_here());
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  JsonValue boolean_value(bool b) {
    JsonValue v = JsonValue::make(JsonValue::Kind::boolean, base_ + pos_ - (b ? 4 : 5));
    v.set_boolean(b);
    return v;
  }

  void check_depth(std::size_t depth) const {
    if (depth > limits_.max_depth)
      fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  JsonValue parse_array(std::size_t depth) {
    check_depth(depth);
    JsonValue array = JsonValue::make(JsonValue::Kind::array, base_ + pos_);
    ++pos_;  // '['
    skip_whitespace();
    if (!at_end() && text_[pos_] == ']') {
      ++pos_;
      return array;
    }
    for (;;) {
      skip_whitespace();
      array.push(parse_value(depth));
      skip_whitespace();
      if (!at_end() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      expect(']', "or ',' in array");
      return array;
    }
  }

  JsonValue parse_object(std::size_t depth) {
    check_depth(depth);
    JsonValue object = JsonValue::make(JsonValue::Kind::object, base_ + pos_);
    ++pos_;  // '{'
    skip_whitespace();
    if (!at_end() && text_[pos_] == '}') {
      ++pos_;
      return object;
    }
    std::unordered_set<std::string> seen;
    for (;;) {
      skip_whitespace();
      const std::size_t key_pos = pos_;
      if (at_end() || text_[pos_] != '"')
        fail("expected a string key in object, found " + describe_here());
      std::string key = parse_string();
      if (!seen.insert(key).second) fail_at("duplicate key \"" + key + "\" in object", key_pos);
      skip_whitespace();
      expect(':', "after object key");
      skip_whitespace();
      object.push(std::move(key), parse_value(depth));
      skip_whitespace();
      if (!at_end() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      expect('}', "or ',' in object");
      return object;
    }
  }

  // number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ]
  JsonValue parse_number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ - from;
    };
    if (text_[pos_] == '-') ++pos_;
    if (!at_end() && text_[pos_] == '0') {
      ++pos_;
      if (!at_end() && peek() >= '0' && peek() <= '9') fail("leading zero in number");
    } else if (digits() == 0) {
      fail("expected a digit in number, found " + describe_here());
    }
    if (!at_end() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("expected a digit after '.', found " + describe_here());
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected a digit in exponent, found " + describe_here());
    }
    std::string lexeme(text_.substr(start, pos_ - start));
    double value = 0.0;
    const auto [ptr, ec] = std::from_chars(lexeme.data(), lexeme.data() + lexeme.size(), value);
    // RFC 8259 lets a reader limit range: numbers that overflow a double, or
    // underflow it (1e-400), are refused rather than silently changed.
    if (ec == std::errc::result_out_of_range)
      fail_at("number " + lexeme + " is out of the range of a double", start);
    if (ec != std::errc() || ptr != lexeme.data() + lexeme.size())
      fail_at("unreadable number " + lexeme, start);
    JsonValue v = JsonValue::make(JsonValue::Kind::number, base_ + start);
    v.set_number(value, std::move(lexeme));
    return v;
  }

  unsigned hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_];
      unsigned digit;
      if (c >= '0' && c <= '9')
        digit = unsigned(c - '0');
      else if (c >= 'a' && c <= 'f')
        digit = unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        digit = unsigned(c - 'A' + 10);
      else
        fail("expected a hex digit in \\u escape, found " + describe_here());
      value = value * 16 + digit;
      ++pos_;
    }
    return value;
  }

  // \uXXXX, or a high surrogate \uD8xx followed by a low one \uDCxx, which
  // together stand for 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00).
  void parse_unicode_escape(std::string& out) {
    const std::size_t start = pos_ - 2;
    const unsigned first = hex4();
    if (first >= 0xDC00 && first <= 0xDFFF) fail_at("lone low surrogate in \\u escape", start);
    if (first < 0xD800 || first > 0xDBFF) return append_utf8(out, first);
    if (text_.substr(pos_, 2) != "\\u")
      fail_at("high surrogate not followed by a \\u low surrogate", start);
    pos_ += 2;
    const unsigned second = hex4();
    if (second < 0xDC00 || second > 0xDFFF)
      fail_at("high surrogate not followed by a low surrogate", start);
    append_utf8(out, 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
  }

  // One multi-byte UTF-8 sequence, checked (core/io/utf8.hpp) and copied as is.
  void copy_utf8(std::string& out) {
    const Utf8Check check = check_utf8_sequence(text_.substr(pos_));
    if (check.length == 0) fail_at(check.problem, pos_ + check.problem_at);
    out.append(text_.substr(pos_, check.length));
    pos_ += check.length;
  }

  std::string parse_string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail_at("unterminated string", start);
      const unsigned char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("unescaped control character in string");
      if (c >= 0x80) {
        copy_utf8(out);
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += char(c);
        continue;
      }
      if (at_end()) fail_at("unterminated string", start);
      // The two-character escapes: \" \\ \/ \b \f \n \r \t, and \uXXXX.
      constexpr std::string_view names = "\"\\/bfnrt";
      constexpr std::string_view meanings = "\"\\/\b\f\n\r\t";
      const char e = text_[pos_++];
      if (e == 'u') {
        parse_unicode_escape(out);
      } else if (const auto k = names.find(e); k != std::string_view::npos) {
        out += meanings[k];
      } else {
        fail_at("invalid escape in string", pos_ - 2);
      }
    }
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t base_;
  JsonLimits limits_;
  std::size_t pos_ = 0;
  std::size_t values_ = 0;
};

}  // namespace

JsonValue parse_json(std::string_view text, const std::string& source, std::size_t base_offset,
                     const JsonLimits& limits) {
  return Parser(text, source, base_offset, limits).parse_document();
}

}  // namespace tinyq
