// The strict JSON reader: what RFC 8259 allows is read, everything else
// refused. And the writer: built values print as expected, and what it
// prints reads back as the same value.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "core/io/json_parser.hpp"
#include "core/io/json_writer.hpp"
#include "core/random.hpp"

using namespace tinyq;

namespace {

JsonValue parse(const std::string& text) {
  return parse_json(text, "t.json");
}

// The error message for text that must be refused.
std::string refusal(const std::string& text, const JsonLimits& limits = {}) {
  try {
    parse_json(text, "t.json", 0, limits);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("accepted: " << text);
  return "";
}

}  // namespace

TEST_CASE("literals, numbers and strings are read with their values") {
  CHECK(parse("null").is_null());
  CHECK(parse("true").boolean());
  CHECK_FALSE(parse(" false ").boolean());
  CHECK(parse("0").number() == 0.0);
  CHECK(parse("-12.5e1").number() == -125.0);
  CHECK(parse("1E+2").number() == 100.0);
  CHECK(parse("\"abc\"").string() == "abc");
  CHECK(parse("\t\r\n \"x\" \n").string() == "x");
}

TEST_CASE("arrays and objects keep their order and nest") {
  const JsonValue v = parse(R"({"b": [1, [2, {}], []], "a": {"c": null}})");
  REQUIRE(v.is_object());
  REQUIRE(v.size() == 2);
  CHECK(v.key(0) == "b");
  CHECK(v.key(1) == "a");
  const JsonValue& b = *v.find("b");
  REQUIRE(b.size() == 3);
  CHECK(b[0].number() == 1.0);
  CHECK(b[1][0].number() == 2.0);
  CHECK(b[1][1].is_object());
  CHECK(b[2].size() == 0);
  CHECK(v.find("a")->find("c")->is_null());
  CHECK(v.find("missing") == nullptr);
}

TEST_CASE("escapes decode, including \\u and surrogate pairs, to UTF-8") {
  CHECK(parse(R"("\"\\\/\b\f\n\r\t")").string() == "\"\\/\b\f\n\r\t");
  CHECK(parse(R"("\u0041\u00e9\u20AC")").string() == "A\xC3\xA9\xE2\x82\xAC");
  // U+1F600 as the pair D83D DE00 is F0 9F 98 80 in UTF-8.
  CHECK(parse(R"("\uD83D\uDE00")").string() == "\xF0\x9F\x98\x80");
  CHECK(parse(R"("\u0000")").string() == std::string(1, '\0'));
  // Raw UTF-8 passes through unchanged.
  CHECK(parse("\"\xC3\xA9\xF0\x9F\x98\x80\"").string() == "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("whole numbers are read exactly beyond 2^53, others are not whole") {
  CHECK(parse("18446744073709551615").as_whole_number() == 18446744073709551615u);
  CHECK(parse("9007199254740993").as_whole_number() == 9007199254740993u);
  CHECK_FALSE(parse("18446744073709551616").as_whole_number());  // 2^64
  CHECK_FALSE(parse("-1").as_whole_number());
  CHECK_FALSE(parse("1.0").as_whole_number());
  CHECK_FALSE(parse("1e2").as_whole_number());
  CHECK_FALSE(parse("\"1\"").as_whole_number());
}

TEST_CASE("malformed text is refused with the source and the byte offset") {
  CHECK(refusal("[1, 2,]") == "t.json: JSON: expected a value, found ']' at byte 6");
  CHECK(refusal("{\"a\": 1,}") ==
        "t.json: JSON: expected a string key in object, found '}' at byte 8");
  CHECK(refusal("[1 2]").find("expected ']' or ','") != std::string::npos);
  CHECK(refusal("{\"a\" 1}").find("expected ':'") != std::string::npos);
  CHECK(refusal("").find("empty text") != std::string::npos);
  CHECK(refusal("   ").find("empty text") != std::string::npos);
  CHECK(refusal("1 2").find("after the value") != std::string::npos);
  CHECK(refusal("[1").find("end of text") != std::string::npos);
  CHECK(refusal("{'a': 1}").find("expected a string key") != std::string::npos);
  CHECK(refusal("[1] // c").find("after the value") != std::string::npos);
  CHECK(refusal("tru").find("expected a value") != std::string::npos);
  CHECK(refusal("nul").find("expected a value") != std::string::npos);
}

TEST_CASE("numbers outside the grammar or the range of a double are refused") {
  for (const char* bad : {"01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity",
                          "-Infinity", "--1", "1.e3"})
    CHECK_THROWS_AS(parse(bad), Error);
  CHECK(refusal("1e999").find("out of the range") != std::string::npos);
  CHECK(refusal("-1e999").find("out of the range") != std::string::npos);
  CHECK(refusal("1e-400").find("out of the range") != std::string::npos);
}

TEST_CASE("bad strings are refused: control characters, escapes, surrogates, UTF-8") {
  CHECK(refusal("\"a\nb\"").find("unescaped control character") != std::string::npos);
  CHECK(refusal("\"a\tb\"").find("unescaped control character") != std::string::npos);
  CHECK(refusal(R"("\x41")").find("invalid escape") != std::string::npos);
  CHECK(refusal(R"("\u12G4")").find("hex digit") != std::string::npos);
  CHECK(refusal(R"("\u12")").find("\\u escape") != std::string::npos);
  CHECK(refusal(R"("\uD83D")").find("high surrogate") != std::string::npos);
  CHECK(refusal(R"("\uD83Dx")").find("high surrogate") != std::string::npos);
  CHECK(refusal(R"("\uD83D\u0041")").find("low surrogate") != std::string::npos);
  CHECK(refusal(R"("\uDE00")").find("lone low surrogate") != std::string::npos);
  CHECK(refusal("\"abc").find("unterminated string at byte 0") != std::string::npos);
  CHECK(refusal("\"\xC3\"").find("continuation") != std::string::npos);       // cut sequence
  CHECK(refusal("\"\xC0\xAF\"").find("lead byte") != std::string::npos);      // overlong '/'
  CHECK(refusal("\"\xE0\x80\xAF\"").find("overlong") != std::string::npos);   // overlong '/'
  CHECK(refusal("\"\xED\xA0\x80\"").find("surrogate") != std::string::npos);  // U+D800
  CHECK(refusal("\"\xF4\x90\x80\x80\"").find("U+10FFFF") != std::string::npos);
  CHECK(refusal("\"\xFF\"").find("lead byte") != std::string::npos);
  CHECK(refusal("\"\x80\"").find("lead byte") != std::string::npos);
  CHECK(refusal("\"\xF0\x9F\x98").find("truncated UTF-8") != std::string::npos);
}

TEST_CASE("duplicate keys are refused, also when spelled with escapes") {
  CHECK(refusal(R"({"a": 1, "a": 2})") == "t.json: JSON: duplicate key \"a\" in object at byte 9");
  CHECK(refusal(R"({"a": 1, "\u0061": 2})").find("duplicate key") != std::string::npos);
  CHECK(parse(R"({"a": {"a": 1}})").find("a")->find("a")->number() == 1.0);  // other object
}

TEST_CASE("nesting depth and value count are limited") {
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  CHECK(refusal(deep).find("nesting deeper than 64") != std::string::npos);
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK(parse(ok).is_array());
  // A very deep text fails at the limit instead of exhausting the stack.
  CHECK_THROWS_AS(parse(std::string(1'000'000, '[')), Error);
  JsonLimits small;
  small.max_values = 3;
  CHECK_NOTHROW(parse_json("[1, 2]", "t.json", 0, small));
  CHECK(refusal("[1, 2, 3]", small).find("more than 3 values") != std::string::npos);
}

TEST_CASE("offsets count from the base offset the caller gives") {
  try {
    parse_json("{]", "f.safetensors", 8);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          "f.safetensors: JSON: expected a string key in object, "
          "found ']' at byte 9");
  }
  CHECK(parse_json(" [true]", "f", 8)[0].offset() == 10);
}

TEST_CASE("accessors refuse a value of another kind") {
  CHECK_THROWS_AS(parse("1").string(), Error);
  CHECK_THROWS_AS(parse("\"1\"").number(), Error);
  CHECK_THROWS_AS(parse("[]").find("a"), Error);
  CHECK_THROWS_AS(parse("[]")[0], Error);
  CHECK_THROWS_AS(parse("null").size(), Error);
}

TEST_CASE(
    "random damage to a JSON text yields a value that prints back, or a tinyq::Error, nothing "
    "else") {
  const std::string good =
      R"({"a": [1, -2.5e3, true, false, null], "b\u00e9": {"c": "\ud83d\ude00\n"}, "d": []})";
  Rng rng(5);
  const std::string alphabet = "{}[]\",:\\u0123456789eE+-.tfnrl \xC3\xA9\xED\xF0";
  int refused = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    std::string text = good;
    for (auto edits = 1 + rng.below(3); edits > 0; --edits) {
      const std::size_t at = rng.below(text.size());
      const char c = alphabet[rng.below(alphabet.size())];
      switch (rng.below(3)) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          text.erase(at, 1);
      }
    }
    std::string printed;
    try {
      printed = to_json(parse_json(text, "damaged"), JsonLayout::compact);
    } catch (const Error&) {
      ++refused;
      continue;
    }
    // What is accepted prints as a text that reads back and prints the same.
    CHECK(to_json(parse_json(printed, "printed"), JsonLayout::compact) == printed);
  }
  CHECK(refused > 2500);
}

TEST_CASE("built numbers print as exact integers or the shortest round-trip double") {
  CHECK(to_json(JsonValue(784), JsonLayout::compact) == "784");
  CHECK(to_json(JsonValue(-3), JsonLayout::compact) == "-3");
  CHECK(to_json(JsonValue(std::uint64_t{18446744073709551615u}), JsonLayout::compact) ==
        "18446744073709551615");
  CHECK(to_json(JsonValue(0.1), JsonLayout::compact) == "0.1");
  CHECK(to_json(JsonValue(0.9415), JsonLayout::compact) == "0.9415");
  CHECK(to_json(JsonValue(2.0), JsonLayout::compact) == "2");
  CHECK(to_json(JsonValue(1e300), JsonLayout::compact) == "1e+300");
  CHECK(parse(to_json(JsonValue(1.0 / 3.0))).number() == 1.0 / 3.0);
  CHECK(JsonValue(std::numeric_limits<double>::quiet_NaN()).is_null());
  CHECK(JsonValue(-std::numeric_limits<double>::infinity()).is_null());
}

TEST_CASE("objects set in order, replace an existing key, and print in both layouts") {
  JsonValue v = JsonValue::object({{"b", 1}, {"a", true}});
  v.set("c", JsonValue::array({nullptr, "x", 2.5})).set("b", JsonValue::object());
  v.set("d", JsonValue::array());
  CHECK(to_json(v, JsonLayout::compact) == R"({"b":{},"a":true,"c":[null,"x",2.5],"d":[]})");
  CHECK(to_json(v) ==
        "{\n"
        "  \"b\": {},\n"
        "  \"a\": true,\n"
        "  \"c\": [\n"
        "    null,\n"
        "    \"x\",\n"
        "    2.5\n"
        "  ],\n"
        "  \"d\": []\n"
        "}\n");
  CHECK_THROWS_AS(JsonValue::array().set("a", 1), Error);
  CHECK_THROWS_AS(JsonValue::object().push(1), Error);
}

TEST_CASE("strings print with quote, backslash and control characters escaped") {
  const std::string text = std::string("q\"b\\n\nr\rt\tc") + char(1) + "\x1f\xC3\xA9";
  CHECK(to_json(JsonValue(text), JsonLayout::compact) ==
        "\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f\xC3\xA9\"");
  CHECK(parse(to_json(JsonValue(text))).string() == text);
}

TEST_CASE("a parsed text prints back as an equal text, numbers as written") {
  const std::string compact = R"({"a":[1,-2.5e3,true,false,null],"b\u00e9":{"c":"\n"},"d":[],)"
                              R"("big":123456789012345678901,"e":{}})";
  const JsonValue v = parse(compact);
  CHECK(
      to_json(v, JsonLayout::compact) ==
      R"({"a":[1,-2.5e3,true,false,null],"bé":{"c":"\n"},"d":[],"big":123456789012345678901,"e":{}})");
  CHECK(to_json(parse(to_json(v)), JsonLayout::compact) == to_json(v, JsonLayout::compact));
}
