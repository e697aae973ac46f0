// libFuzzer target: gzip files (data/gzip), header, trailer and payload.
//
// Every input must either decompress (within the cap, matching its CRC-32 and
// ISIZE) or throw tinyq::Error. Two cross-checks: gunzip_prefix gives the
// first bytes of what gunzip gives, and gzip_stored round-trips any input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "data/gzip.hpp"
#include "fuzz_check.hpp"

namespace {

constexpr std::size_t max_output = std::size_t{1} << 20;
constexpr std::size_t prefix_length = 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tinyq::fuzz::require;
  const std::span<const std::uint8_t> input(data, size);
  std::vector<std::uint8_t> whole;
  bool decoded = false;
  try {
    whole = tinyq::gunzip(input, "fuzz.gz", max_output);
    require(whole.size() <= max_output, "gunzip output exceeds the cap");
    decoded = true;
  } catch (const tinyq::Error&) {
  }
  try {
    const auto layout = tinyq::read_gzip_layout(input, "fuzz.gz");
    require(layout.deflate_offset <= size, "gzip layout points past the input");
    if (decoded)
      require(layout.size == static_cast<std::uint32_t>(whole.size()), "ISIZE differs from output");
  } catch (const tinyq::Error&) {
    require(!decoded, "gunzip accepted a file whose layout is refused");
  }
  try {
    tinyq::fuzz::require_prefix_agrees(tinyq::gunzip_prefix(input, "fuzz.gz", prefix_length),
                                       decoded ? &whole : nullptr, prefix_length);
  } catch (const tinyq::Error&) {
  }
  // The writer's output must always read back as exactly its input.
  const auto wrapped = tinyq::gzip_stored(input);
  const auto unwrapped = tinyq::gunzip(wrapped, "stored.gz", max_output);
  require(std::equal(unwrapped.begin(), unwrapped.end(), input.begin(), input.end()),
          "gzip_stored does not round-trip");
  return 0;
}
