// What every fuzz target shares: how a broken invariant is reported.
//
// Invalid input must end in tinyq::Error; anything else that goes wrong (a
// crash, a sanitizer report, a leak, or a result that contradicts another
// way of computing it) is a bug. require() turns a contradiction into an
// abort, which libFuzzer reports like a crash and saves the input for.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace tinyq::fuzz {

inline void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// A decoder's prefix mode (decode only the first `asked` bytes) must agree
// with decoding everything: at most `asked` bytes, and when the whole input
// decoded (`whole` holds it), exactly its first min(asked, size) bytes.
inline void require_prefix_agrees(const std::vector<std::uint8_t>& head,
                                  const std::vector<std::uint8_t>* whole, std::size_t asked) {
  require(head.size() <= asked, "prefix decoding returned more than asked");
  if (whole == nullptr) return;
  require(head.size() == std::min(asked, whole->size()),
          "prefix length differs from full decoding");
  require(std::equal(head.begin(), head.end(), whole->begin()),
          "prefix bytes differ from full decoding");
}

}  // namespace tinyq::fuzz
