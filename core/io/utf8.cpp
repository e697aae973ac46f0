// UTF-8 encoding and the checks of a well-formed sequence.
#include "core/io/utf8.hpp"

namespace tinyq {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

Utf8Check check_utf8_sequence(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return {1, "", 0};
  // The lead byte gives the length, its payload bits, and the smallest code
  // point that needs this length (anything below is overlong). 0xC0, 0xC1
  // and 0xF5..0xFF can only start overlong or out-of-range sequences.
  std::size_t length;
  char32_t cp, min;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return {0, "invalid UTF-8 lead byte", 0};
  }
  if (text.size() < length) return {0, "truncated UTF-8 sequence", 0};
  for (std::size_t k = 1; k < length; ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    if ((c & 0xC0) != 0x80) return {0, "invalid UTF-8 continuation byte", k};
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return {0, "invalid UTF-8 sequence (overlong, surrogate or beyond U+10FFFF)", 0};
  return {length, "", 0};
}

}  // namespace tinyq
