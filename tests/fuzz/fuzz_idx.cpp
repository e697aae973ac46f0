// libFuzzer target: IDX files, raw and gzip-compressed (data/idx).
//
// parse_idx works on memory; read_idx_file is the path the programs use, so
// each input is also written to a scratch file and read back through it: a
// raw input takes the same route as parse_idx, a gzip input the route that
// checks the decoded header against ISIZE and the cap before inflating.
// Invariants: every failure is a tinyq::Error, an accepted file re-encodes to
// its own bytes, and a file never yields more data than the cap.
#include <unistd.h>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "core/error.hpp"
#include "data/gzip.hpp"
#include "data/idx.hpp"
#include "fuzz_check.hpp"

namespace {

constexpr std::uint64_t max_bytes = std::uint64_t{1} << 20;

const std::filesystem::path& scratch_file() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("tinyq_fuzz_idx_" + std::to_string(getpid()));
  return path;
}

void write_scratch(std::span<const std::uint8_t> bytes) {
  std::ofstream out(scratch_file(), std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  tinyq::fuzz::require(static_cast<bool>(out), "cannot write the scratch file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tinyq::fuzz::require;
  const std::span<const std::uint8_t> input(data, size);
  bool parsed = false;
  try {
    const tinyq::IdxArray array = tinyq::parse_idx(input, "fuzz.idx");
    parsed = true;
    const auto again = tinyq::write_idx(array.type, array.dims, array.data);
    require(std::equal(again.begin(), again.end(), input.begin(), input.end()),
            "write_idx(parse_idx(x)) differs from x");
    require(array.count() * tinyq::idx_element_size(array.type) == array.data.size(),
            "element count disagrees with the data size");
  } catch (const tinyq::Error&) {
  }

  write_scratch(input);
  try {
    const tinyq::IdxArray array = tinyq::read_idx_file(scratch_file(), max_bytes);
    require(array.data.size() <= max_bytes, "read_idx_file returned more than the cap");
    if (!tinyq::has_gzip_magic(input))
      require(parsed, "read_idx_file accepted what parse_idx refused");
  } catch (const tinyq::Error&) {
    if (!tinyq::has_gzip_magic(input))
      require(!parsed, "read_idx_file refused what parse_idx accepted");
  }
  return 0;
}
