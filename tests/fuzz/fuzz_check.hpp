// What every fuzz target shares: how a broken invariant is reported.
//
// Invalid input must end in tinyq::Error; anything else that goes wrong (a
// crash, a sanitizer report, a leak, or a result that contradicts another
// way of computing it) is a bug. require() turns a contradiction into an
// abort, which libFuzzer reports like a crash and saves the input for.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tinyq::fuzz {

inline void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace tinyq::fuzz
