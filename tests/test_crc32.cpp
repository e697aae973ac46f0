#include <doctest/doctest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/io/crc32.hpp"

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("crc32 of the empty input is 0") {
  CHECK(tinyq::crc32({}) == 0u);
}

TEST_CASE("crc32 matches the standard check value for \"123456789\"") {
  CHECK(tinyq::crc32(bytes_of("123456789")) == 0xCBF43926u);
}

TEST_CASE("crc32 matches known vectors") {
  // Values from zlib.crc32 (Python) on the same strings.
  CHECK(tinyq::crc32(bytes_of("a")) == 0xE8B7BE43u);
  CHECK(tinyq::crc32(bytes_of("The quick brown fox jumps over the lazy dog")) == 0x414FA339u);
  const std::vector<std::uint8_t> zeros(32, 0);
  CHECK(tinyq::crc32(zeros) == 0x190A55ADu);
}

TEST_CASE("crc32_update over pieces equals crc32 of the whole") {
  const auto all = bytes_of("The quick brown fox jumps over the lazy dog");
  const std::span<const std::uint8_t> s(all);
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    const std::uint32_t crc =
        tinyq::crc32_update(tinyq::crc32_update(0, s.first(cut)), s.subspan(cut));
    CHECK(crc == tinyq::crc32(all));
  }
}
