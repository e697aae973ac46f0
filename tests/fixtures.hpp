// Test fixtures made by an outside compressor (real zlib and gzip), checked
// in under tests/fixtures/ by fixtures/make_fixtures.py, and the generator
// that rebuilds their original bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace tinyq::test {

// The bytes of tests/fixtures/<name> (meson passes the folder as
// TINYQ_FIXTURE_DIR). A missing fixture fails the test, never skips it.
inline std::vector<std::uint8_t> read_fixture(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(TINYQ_FIXTURE_DIR) / name;
  std::ifstream file(path, std::ios::binary);
  REQUIRE_MESSAGE(file.good(), "missing fixture " << path.string());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// corpus() of make_fixtures.py, line by line: text, noise, runs of one byte
// and copies from 1..32768 bytes back, cut to `size` bytes.
inline std::vector<std::uint8_t> deflate_corpus(std::uint32_t seed, std::size_t size) {
  std::uint32_t state = seed;
  const auto word = [&state] {  // xorshift32
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  std::vector<std::uint8_t> out;
  while (out.size() < size) {
    const std::uint32_t kind = word() % 8;
    if (kind < 3 || out.size() < 64) {
      for (std::uint32_t n = 20 + word() % 120; n > 0; --n)
        out.push_back(static_cast<std::uint8_t>('a' + word() % 16));
    } else if (kind == 3) {
      const std::uint32_t count = word();  // Python evaluates this operand first
      const std::uint32_t spread = word() % 4 == 0 ? 1500 : 100;
      for (std::uint32_t n = 10 + count % spread; n > 0; --n)
        out.push_back(static_cast<std::uint8_t>(word() >> 24));
    } else if (kind == 4) {
      const auto value = static_cast<std::uint8_t>(word() % 256);
      out.insert(out.end(), 1 + word() % 1200, value);
    } else {
      const std::uint32_t b = 1 + word() % 16;
      const std::size_t back = (std::size_t{1} << (b - 1)) + word() % (std::uint32_t{1} << (b - 1));
      const std::size_t distance = std::min({back, std::size_t{32768}, out.size()});
      for (std::uint32_t n = 3 + word() % 600; n > 0; --n)
        out.push_back(out[out.size() - distance]);
    }
  }
  out.resize(size);
  return out;
}

}  // namespace tinyq::test
