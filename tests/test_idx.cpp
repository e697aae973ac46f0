#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/io/file_io.hpp"
#include "data/gzip.hpp"
#include "data/idx.hpp"
#include "fixtures.hpp"

using tinyq::IdxType;

namespace {

using Bytes = std::vector<std::uint8_t>;

void check_parse_fails_with(const Bytes& file, const std::string& fragment) {
  try {
    tinyq::parse_idx(file, "test.idx");
    FAIL("expected tinyq::Error containing: " << fragment);
  } catch (const tinyq::Error& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.find(fragment) != std::string::npos, message);
    CHECK_MESSAGE(message.find("test.idx") != std::string::npos, message);
  }
}

// A file in the temp folder, unique to this process, removed at scope exit.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("tinyq_test_idx_" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
              name)) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

Bytes small_u8() {
  const std::vector<std::size_t> dims = {2, 3};
  return tinyq::write_idx(IdxType::u8, dims, Bytes{1, 2, 3, 4, 5, 255});
}

}  // namespace

TEST_CASE("write_idx then parse_idx round-trips type, dims and data") {
  const std::vector<std::size_t> dims = {2, 3, 2};
  Bytes data(2 * 3 * 2 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  const Bytes file = tinyq::write_idx(IdxType::i32, dims, data);
  CHECK(file.size() == 4 + 3 * 4 + data.size());
  CHECK(file[2] == 0x0C);
  CHECK(file[3] == 3);
  CHECK(file[7] == 2);  // big-endian first dimension
  const tinyq::IdxArray a = tinyq::parse_idx(file, "x");
  CHECK(a.type == IdxType::i32);
  CHECK(a.dims == dims);
  CHECK(a.count() == 12);
  CHECK(a.data == data);
}

TEST_CASE("write_idx refuses data of the wrong size") {
  const std::vector<std::size_t> dims = {4};
  CHECK_THROWS_AS(tinyq::write_idx(IdxType::i16, dims, Bytes(4)), tinyq::Error);
}

TEST_CASE("parse_idx refuses a bad magic") {
  Bytes file = small_u8();
  file[1] = 1;
  check_parse_fails_with(file, "bad IDX magic");
}

TEST_CASE("parse_idx refuses an unknown element type") {
  Bytes file = small_u8();
  file[2] = 0x0A;
  check_parse_fails_with(file, "unknown IDX element type 0x0a");
}

TEST_CASE("parse_idx refuses rank 0 and ranks above the limit") {
  check_parse_fails_with({0, 0, 8, 0}, "bad IDX rank 0");
  check_parse_fails_with({0, 0, 8, 200, 0, 0, 0, 1}, "bad IDX rank 200");
}

TEST_CASE("parse_idx refuses a truncated header") {
  check_parse_fails_with({0, 0}, "truncated IDX header");
  check_parse_fails_with({0, 0, 8, 2, 0, 0, 0, 1, 0, 0}, "truncated IDX header");
}

TEST_CASE("parse_idx refuses truncated data and trailing bytes") {
  Bytes file = small_u8();
  file.pop_back();
  check_parse_fails_with(file, "says 6 bytes after the 12-byte header, found 5 (truncated)");
  file.push_back(0);
  file.push_back(0);
  check_parse_fails_with(file, "found 7 (trailing bytes)");
}

TEST_CASE("parse_idx refuses huge dimensions in a tiny file without allocating") {
  // 4 x 2^32-1 doubles: the product overflows 64 bits unless checked.
  const Bytes huge = {0,    0,    0x0E, 4,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1,    2,    3};
  check_parse_fails_with(huge, "larger than 2^48 bytes");
  // 2^32-scale but representable: refused by the size check.
  check_parse_fails_with({0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 16, 7}, "(truncated)");
}

TEST_CASE("read_idx_file reads raw and gzip files alike") {
  const Bytes idx = small_u8();
  TempFile raw("raw.idx"), gz("packed.idx");  // no .gz suffix: detected by magic
  tinyq::write_file_atomically(raw.path, idx);
  tinyq::write_file_atomically(gz.path, tinyq::gzip_stored(idx));
  for (const auto* file : {&raw, &gz}) {
    const tinyq::IdxArray a = tinyq::read_idx_file(file->path);
    CHECK(a.dims == std::vector<std::size_t>{2, 3});
    CHECK(a.data == Bytes{1, 2, 3, 4, 5, 255});
  }
}

TEST_CASE("read_idx_file refuses a gzip file whose IDX header disagrees with ISIZE") {
  // Headers claiming more data than a small valid gzip file holds are
  // refused from the header alone, before decompressing or allocating:
  // 2^32-scale dims exceed the cap, smaller ones disagree with ISIZE.
  const Bytes huge = {0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 16, 1, 2, 3};
  const Bytes large = {0, 0, 8, 2, 0, 0, 1, 0, 0, 0, 1, 0, 1, 2, 3};
  TempFile gz("claims_too_much.idx.gz");
  for (const auto& [idx, fragment] :
       {std::pair{huge, "more than the limit of 1073741824"},
        std::pair{large, "65548 bytes, but the gzip trailer (ISIZE) says 15"}}) {
    tinyq::write_file_atomically(gz.path, tinyq::gzip_stored(idx));
    try {
      tinyq::read_idx_file(gz.path);
      FAIL("expected tinyq::Error");
    } catch (const tinyq::Error& e) {
      const std::string message = e.what();
      CHECK_MESSAGE(message.find(fragment) != std::string::npos, message);
    }
  }
}

TEST_CASE("read_idx_file refuses data beyond the size cap") {
  const Bytes idx = small_u8();
  TempFile raw("capped.idx"), gz("capped.idx.gz");
  tinyq::write_file_atomically(raw.path, idx);
  tinyq::write_file_atomically(gz.path, tinyq::gzip_stored(idx));
  CHECK_THROWS_AS(tinyq::read_idx_file(raw.path, 10), tinyq::Error);
  // The gzip file itself is small enough; its decompressed size is not.
  CHECK(tinyq::gzip_stored(idx).size() < 60);
  CHECK_THROWS_AS(tinyq::read_idx_file(gz.path, 17), tinyq::Error);
  CHECK_NOTHROW(tinyq::read_idx_file(gz.path, 60));
}

TEST_CASE("read_idx_file names a missing file") {
  TempFile missing("missing.idx");
  try {
    tinyq::read_idx_file(missing.path);
    FAIL("expected tinyq::Error");
  } catch (const tinyq::Error& e) {
    CHECK(std::string(e.what()).find(missing.path.string()) != std::string::npos);
  }
}

TEST_CASE("read_idx_file reads an IDX file compressed by the gzip program") {
  // images.idx.gz: `gzip -9 -n` of a 3 x 28 x 28 ubyte file (make_fixtures.py).
  const tinyq::IdxArray a =
      tinyq::read_idx_file(std::filesystem::path(TINYQ_FIXTURE_DIR) / "images.idx.gz");
  CHECK(a.type == IdxType::u8);
  CHECK(a.dims == std::vector<std::size_t>{3, 28, 28});
  CHECK(a.data == tinyq::test::deflate_corpus(2, 3 * 28 * 28));
}
