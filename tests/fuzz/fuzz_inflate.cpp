// libFuzzer target: raw DEFLATE streams (data/inflate).
//
// Every input must either decode to at most the cap or throw tinyq::Error.
// inflate_prefix must agree with inflate: its output is the first bytes of
// the full output whenever the full stream decodes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "data/inflate.hpp"
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
    std::size_t consumed = 0;
    whole = tinyq::inflate(input, max_output, &consumed);
    require(whole.size() <= max_output, "inflate output exceeds the cap");
    require(consumed <= size, "inflate consumed more bytes than it was given");
    decoded = true;
  } catch (const tinyq::Error&) {
  }
  try {
    tinyq::fuzz::require_prefix_agrees(tinyq::inflate_prefix(input, prefix_length),
                                       decoded ? &whole : nullptr, prefix_length);
  } catch (const tinyq::Error&) {
  }
  return 0;
}
