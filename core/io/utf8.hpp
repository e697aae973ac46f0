// UTF-8: encoding one code point, and checking one encoded sequence.
//
// A code point U+0000..U+10FFFF takes 1 to 4 bytes:
//   U+0000..007F     0xxxxxxx
//   U+0080..07FF     110xxxxx 10xxxxxx
//   U+0800..FFFF     1110xxxx 10xxxxxx 10xxxxxx
//   U+10000..10FFFF  11110xxx 10xxxxxx 10xxxxxx 10xxxxxx
// Valid UTF-8 uses the shortest form (no "overlong" encodings, which could
// smuggle a '/' or '"' past a byte-level check), never encodes the UTF-16
// surrogates U+D800..DFFF, and stops at U+10FFFF.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tinyq {

// Appends the 1-4 bytes of code point cp (at most 0x10FFFF, not a surrogate).
void append_utf8(std::string& out, char32_t cp);

// How the sequence at the start of a text reads.
struct Utf8Check {
  std::size_t length = 0;      // bytes of the valid sequence; 0 when invalid
  const char* problem = "";    // why it is invalid: "invalid UTF-8 lead byte", ...
  std::size_t problem_at = 0;  // offset of the offending byte within the text
};

// Checks the sequence that starts at text[0] (text must not be empty).
Utf8Check check_utf8_sequence(std::string_view text);

}  // namespace tinyq
