#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "data/gzip.hpp"
#include "fixtures.hpp"

using tinyq::gunzip;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

void check_fails_with(const Bytes& file, const std::string& fragment,
                      std::size_t max_output = 1 << 20) {
  try {
    gunzip(file, "test.gz", max_output);
    FAIL("expected tinyq::Error containing: " << fragment);
  } catch (const tinyq::Error& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.find(fragment) != std::string::npos, message);
    CHECK_MESSAGE(message.find("test.gz") != std::string::npos, message);
  }
}

void put_le32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A gzip file around a raw deflate stream, with the given header flags and
// optional fields (already encoded).
Bytes gzip_file(std::uint8_t flags, const Bytes& optional_fields, const Bytes& deflate,
                const std::string& original) {
  Bytes out = {0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3};
  for (std::uint8_t b : optional_fields) out.push_back(b);
  for (std::uint8_t b : deflate) out.push_back(b);
  put_le32(out, tinyq::crc32(bytes_of(original)));
  put_le32(out, static_cast<std::uint32_t>(original.size()));
  return out;
}

// Raw deflate of b"a" * 100 made with Python's zlib (level 9, wbits -15).
const Bytes run_deflate = {0x4b, 0x4c, 0xa4, 0x3d, 0x00, 0x00};
const std::string run_text(100, 'a');

}  // namespace

TEST_CASE("gzip_stored output round-trips through gunzip") {
  for (std::size_t n : {0u, 1u, 100u, 65535u, 65536u, 200000u}) {
    Bytes data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + i / 300);
    CHECK(gunzip(tinyq::gzip_stored(data), "x.gz", n) == data);
  }
}

TEST_CASE("gunzip decodes a compressed member") {
  CHECK(gunzip(gzip_file(0, {}, run_deflate, run_text), "a.gz", 1000) == bytes_of(run_text));
}

TEST_CASE("gunzip skips FEXTRA, FNAME, FCOMMENT and checks FHCRC") {
  Bytes fields = {3, 0, 'x', 'y', 'z'};  // FEXTRA: length 3
  for (char c : std::string("name.txt")) fields.push_back(static_cast<std::uint8_t>(c));
  fields.push_back(0);
  for (char c : std::string("a comment")) fields.push_back(static_cast<std::uint8_t>(c));
  fields.push_back(0);
  const std::uint8_t flags = 1 | 4 | 8 | 16;  // FTEXT FEXTRA FNAME FCOMMENT
  CHECK(gunzip(gzip_file(flags, fields, run_deflate, run_text), "a.gz", 1000) ==
        bytes_of(run_text));

  // FHCRC: the low 16 bits of the CRC-32 of every header byte before it.
  Bytes header = {0x1f, 0x8b, 8, flags | 2, 0, 0, 0, 0, 0, 3};
  header.insert(header.end(), fields.begin(), fields.end());
  const std::uint32_t header_crc = tinyq::crc32(header);
  Bytes with_crc = fields;
  with_crc.push_back(static_cast<std::uint8_t>(header_crc));
  with_crc.push_back(static_cast<std::uint8_t>(header_crc >> 8));
  CHECK(gunzip(gzip_file(flags | 2, with_crc, run_deflate, run_text), "a.gz", 1000) ==
        bytes_of(run_text));
  with_crc.back() ^= 1;
  check_fails_with(gzip_file(flags | 2, with_crc, run_deflate, run_text), "header CRC mismatch");
}

TEST_CASE("gunzip refuses a file without the gzip magic") {
  Bytes file = tinyq::gzip_stored(bytes_of("hello"));
  file[1] = 0x8c;
  check_fails_with(file, "not a gzip file");
}

TEST_CASE("gunzip refuses an unknown method and reserved flags") {
  Bytes file = tinyq::gzip_stored(bytes_of("hello"));
  file[2] = 7;
  check_fails_with(file, "compression method 7");
  file[2] = 8;
  file[3] = 0x20;
  check_fails_with(file, "reserved flag bits");
}

TEST_CASE("gunzip refuses a header field that runs past the end") {
  check_fails_with(gzip_file(8, bytes_of("no terminator"), {}, ""), "FNAME runs past");
  check_fails_with(gzip_file(4, {0xFF, 0x00}, {}, ""), "FEXTRA runs past");
}

TEST_CASE("gunzip refuses a wrong CRC-32") {
  Bytes file = tinyq::gzip_stored(bytes_of("hello"));
  file[file.size() - 8] ^= 0x01;
  check_fails_with(file, "CRC-32 mismatch");
}

TEST_CASE("gunzip refuses data longer than ISIZE says, before decoding it all") {
  Bytes file = gzip_file(0, {}, run_deflate, run_text);
  file[file.size() - 4] = 99;  // ISIZE 99, but the data is 100 bytes
  check_fails_with(file, "exceeds the limit of 99 bytes");
}

TEST_CASE("gunzip refuses data shorter than ISIZE says") {
  Bytes file = gzip_file(0, {}, run_deflate, run_text);
  file[file.size() - 4] = 101;
  check_fails_with(file, "ISIZE mismatch");
}

TEST_CASE("gunzip refuses output beyond max_output") {
  check_fails_with(gzip_file(0, {}, run_deflate, run_text), "exceeds the limit of 60 bytes", 60);
}

TEST_CASE("gunzip refuses a truncated file") {
  const Bytes file = tinyq::gzip_stored(bytes_of("hello, world"));
  for (std::size_t n = 0; n < file.size(); ++n) {
    CAPTURE(n);
    CHECK_THROWS_AS(gunzip(Bytes(file.begin(), file.begin() + static_cast<long>(n)), "t.gz", 100),
                    tinyq::Error);
  }
}

TEST_CASE("gunzip refuses bytes after the trailer") {
  Bytes file = tinyq::gzip_stored(bytes_of("hello"));
  // Appending a second copy makes a multi-member file, which is refused too.
  const Bytes copy = file;
  file.insert(file.end(), copy.begin(), copy.end());
  check_fails_with(file, "unexpected bytes after the deflate data");
}

TEST_CASE("gunzip_prefix returns the first bytes only") {
  const Bytes file = gzip_file(0, {}, run_deflate, run_text);
  CHECK(tinyq::gunzip_prefix(file, "p.gz", 4) == bytes_of("aaaa"));
}

TEST_CASE("gunzip decodes a file made by the gzip program, and gunzip_prefix its start") {
  const Bytes file = tinyq::test::read_fixture("images.idx.gz");
  Bytes expected = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28};
  const Bytes pixels = tinyq::test::deflate_corpus(2, 3 * 28 * 28);
  expected.insert(expected.end(), pixels.begin(), pixels.end());
  CHECK(gunzip(file, "images.idx.gz", expected.size()) == expected);
  CHECK(tinyq::gunzip_prefix(file, "images.idx.gz", 16) ==
        Bytes(expected.begin(), expected.begin() + 16));
  check_fails_with(file, "exceeds the limit", expected.size() - 1);
  // The same file with one bit of its CRC-32, or of its data, changed.
  Bytes bad_crc = file;
  bad_crc[bad_crc.size() - 8] ^= 0x10;
  check_fails_with(bad_crc, "CRC-32 mismatch");
  Bytes bad_isize = file;
  bad_isize[bad_isize.size() - 4] ^= 0x01;
  CHECK_THROWS_AS(gunzip(bad_isize, "images.idx.gz", 1 << 20), tinyq::Error);
}
