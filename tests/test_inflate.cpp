#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "data/inflate.hpp"
#include "fixtures.hpp"

using tinyq::inflate;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string as_string(const Bytes& b) {
  return {b.begin(), b.end()};
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Writes a DEFLATE bit stream by hand, to build corrupt streams: plain values
// go least significant bit first, Huffman codes most significant bit first.
class BitWriter {
 public:
  BitWriter& bits(std::uint32_t value, unsigned n) {
    for (unsigned i = 0; i < n; ++i) put((value >> i) & 1u);
    return *this;
  }
  BitWriter& code(std::uint32_t code, unsigned n) {
    for (unsigned i = n; i-- > 0;) put((code >> i) & 1u);
    return *this;
  }
  // A literal/length symbol in the fixed code (RFC 1951, 3.2.6).
  BitWriter& fixed_symbol(std::uint32_t s) {
    if (s < 144) return code(0x30 + s, 8);
    if (s < 256) return code(0x190 + s - 144, 9);
    if (s < 280) return code(s - 256, 7);
    return code(0xC0 + s - 280, 8);
  }
  Bytes bytes() const { return out_; }

 private:
  void put(std::uint32_t bit) {
    if (used_ % 8 == 0) out_.push_back(0);
    out_.back() = static_cast<std::uint8_t>(out_.back() | bit << (used_ % 8));
    ++used_;
  }
  Bytes out_;
  unsigned used_ = 0;
};

void check_fails_with(const Bytes& stream, const std::string& fragment,
                      std::size_t max_output = 1 << 20) {
  try {
    inflate(stream, max_output);
    FAIL("expected tinyq::Error containing: " << fragment);
  } catch (const tinyq::Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find(fragment) != std::string::npos, std::string(e.what()));
  }
}

// The streams below were made once with Python's zlib, raw deflate:
//   c = zlib.compressobj(level, zlib.DEFLATED, -15); c.compress(data) + c.flush()
// level 0 for the stored stream, 9 otherwise.

// level 0, b"hello, stored"
const Bytes stored_stream = {0x01, 0x0d, 0x00, 0xf2, 0xff, 0x68, 0x65, 0x6c, 0x6c,
                             0x6f, 0x2c, 0x20, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x64};
// b"abcabcabcabc hello hello" (fixed Huffman)
const Bytes fixed_stream = {0x4b, 0x4c, 0x4a, 0x4e, 0x84, 0x21, 0x85, 0x8c,
                            0xd4, 0x9c, 0x9c, 0x7c, 0x08, 0x09, 0x00};
// b"a" * 100: one literal, then length 99 at distance 1
const Bytes run_stream = {0x4b, 0x4c, 0xa4, 0x3d, 0x00, 0x00};
// b"xyz" * 40 + b"!": back-reference at distance 3 overlapping its own output
const Bytes xyz_stream = {0xab, 0xa8, 0xac, 0xaa, 0x18, 0x08, 0xa4, 0x08, 0x00};
// pangram_text() below (dynamic Huffman)
const Bytes dynamic_stream = {
    0xd5, 0x8d, 0xd9, 0x15, 0x40, 0x30, 0x14, 0x05, 0x5b, 0xb9, 0x1a, 0x70, 0xec, 0x4b, 0x17, 0x3e,
    0x34, 0x10, 0x04, 0xb1, 0x3d, 0x42, 0x82, 0x54, 0xef, 0xb5, 0xe1, 0x7b, 0x66, 0xce, 0xd4, 0xa3,
    0xc4, 0x61, 0x54, 0x3b, 0xa3, 0xd1, 0x74, 0x6f, 0xe8, 0xe9, 0xc1, 0x64, 0xd6, 0xfd, 0x04, 0x59,
    0xa9, 0x71, 0x31, 0x5e, 0x84, 0x7b, 0xd1, 0xd1, 0xe0, 0xa3, 0x12, 0xec, 0xad, 0x2f, 0x1a, 0x96,
    0x6e, 0x75, 0x8d, 0xe8, 0x95, 0x95, 0x8c, 0x9c, 0xdc, 0xb0, 0xa8, 0xc3, 0x90, 0xe6, 0x76, 0x38,
    0x3d, 0x04, 0x61, 0x14, 0x27, 0x69, 0x96, 0x17, 0x25, 0xea, 0xdf, 0x0f, 0x3e};
std::string pangram_text() {
  return repeat(
      "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs! "
      "0123456789 ",
      3);
}
// c.compress(b"first block, ") + c.flush(zlib.Z_FULL_FLUSH) + c.compress(b"second block")
// + c.flush(): a fixed block, an empty stored block (the flush marker), a final fixed block.
const Bytes multi_block_stream = {0x4a, 0xcb, 0x2c, 0x2a, 0x2e, 0x51, 0x48, 0xca, 0xc9, 0x4f, 0xce,
                                  0xd6, 0x51, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x2b, 0x4e, 0x4d,
                                  0xce, 0xcf, 0x4b, 0x51, 0x48, 0xca, 0xc9, 0x4f, 0xce, 0x06, 0x00};

}  // namespace

TEST_CASE("inflate decodes a stored block") {
  std::size_t consumed = 0;
  CHECK(as_string(inflate(stored_stream, 100, &consumed)) == "hello, stored");
  CHECK(consumed == stored_stream.size());
}

TEST_CASE("inflate decodes a fixed-Huffman block") {
  CHECK(as_string(inflate(fixed_stream, 100)) == "abcabcabcabc hello hello");
}

TEST_CASE("inflate copies overlapping back-references") {
  CHECK(as_string(inflate(run_stream, 100)) == std::string(100, 'a'));
  CHECK(as_string(inflate(xyz_stream, 200)) == repeat("xyz", 40) + "!");
}

TEST_CASE("inflate decodes a dynamic-Huffman block") {
  CHECK(as_string(inflate(dynamic_stream, 1000)) == pangram_text());
}

TEST_CASE("inflate decodes a multi-block stream and reports the bytes it used") {
  Bytes with_tail = multi_block_stream;
  with_tail.push_back(0xAB);  // whatever follows the stream is not read
  std::size_t consumed = 0;
  CHECK(as_string(inflate(with_tail, 100, &consumed)) == "first block, second block");
  CHECK(consumed == multi_block_stream.size());
}

TEST_CASE("inflate_prefix stops after the requested number of bytes") {
  CHECK(as_string(tinyq::inflate_prefix(dynamic_stream, 9)) == "The quick");
  CHECK(as_string(tinyq::inflate_prefix(run_stream, 7)) == "aaaaaaa");
  CHECK(as_string(tinyq::inflate_prefix(stored_stream, 5)) == "hello");
  CHECK(as_string(tinyq::inflate_prefix(stored_stream, 500)) == "hello, stored");
}

TEST_CASE("inflate refuses output beyond max_output") {
  check_fails_with(run_stream, "exceeds the limit of 50 bytes", 50);
  check_fails_with(stored_stream, "exceeds the limit of 12 bytes", 12);
  CHECK(inflate(run_stream, 100).size() == 100);  // exactly at the limit is fine
}

TEST_CASE("inflate refuses block type 3") {
  check_fails_with({0x07}, "invalid block type 3");
}

TEST_CASE("inflate refuses a stored block whose NLEN is not the complement of LEN") {
  check_fails_with({0x01, 0x05, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd', 'e'}, "does not match NLEN");
}

TEST_CASE("inflate reports unexpected end of input") {
  check_fails_with({}, "unexpected end of input");
  for (std::size_t cut = 0; cut < dynamic_stream.size(); ++cut)
    check_fails_with(Bytes(dynamic_stream.begin(), dynamic_stream.begin() + static_cast<long>(cut)),
                     "unexpected end of input");
  // A stored block that promises more bytes than follow.
  check_fails_with({0x01, 0x05, 0x00, 0xfa, 0xff, 'a', 'b'}, "unexpected end of input");
}

TEST_CASE("inflate refuses a distance further back than the output") {
  // Fixed block whose first symbol is a match: length 3 at distance 1.
  const Bytes s = BitWriter().bits(1, 1).bits(1, 2).fixed_symbol(257).code(0, 5).bytes();
  check_fails_with(s, "too far back");
}

TEST_CASE("inflate refuses the unused fixed-code symbols 286 and distance 30") {
  check_fails_with(BitWriter().bits(1, 1).bits(1, 2).fixed_symbol(286).bytes(),
                   "invalid literal/length symbol 286");
  const Bytes s =
      BitWriter().bits(1, 1).bits(1, 2).fixed_symbol('a').fixed_symbol(257).code(30, 5).bytes();
  check_fails_with(s, "invalid distance symbol 30");
}

TEST_CASE("inflate refuses too many literal/length codes") {
  // Dynamic block with HLIT = 30, i.e. 287 codes (at most 286 allowed).
  check_fails_with(BitWriter().bits(1, 1).bits(2, 2).bits(30, 5).bits(0, 5).bits(0, 4).bytes(),
                   "bad code lengths");
}

// A dynamic block header with 257 literal/length and 1 distance code, and a
// code-length code whose lengths for symbols 16, 17, 18, 0 (the first four
// in the transmission order) are given.
BitWriter dynamic_header(unsigned l16, unsigned l17, unsigned l18, unsigned l0) {
  BitWriter w;
  w.bits(1, 1).bits(2, 2).bits(0, 5).bits(0, 5).bits(0, 4);
  w.bits(l16, 3).bits(l17, 3).bits(l18, 3).bits(l0, 3);
  return w;
}

TEST_CASE("inflate refuses an over-subscribed code") {
  check_fails_with(dynamic_header(1, 1, 1, 0).bytes(), "over-subscribed");
}

TEST_CASE("inflate refuses an incomplete code") {
  check_fails_with(dynamic_header(1, 2, 0, 0).bytes(), "incomplete code");
}

TEST_CASE("inflate refuses a repeat code with no previous length") {
  // Code-length code: 0 -> bit 0, 16 -> bit 1. The first symbol read is 16.
  check_fails_with(dynamic_header(1, 0, 0, 1).code(1, 1).bytes(), "no previous length");
}

TEST_CASE("inflate refuses code lengths that run past the declared count") {
  // 17 and 18 -> codes 0 and 1: three runs of 138 zeros overrun 258 lengths.
  BitWriter w = dynamic_header(0, 1, 1, 0);
  for (int i = 0; i < 3; ++i) w.code(1, 1).bits(127, 7);
  check_fails_with(w.bytes(), "repeat runs past");
}

TEST_CASE("inflate refuses a block without an end-of-block code") {
  // Symbol 18 (code 1) then 18 zeros... all 258 lengths zero: 138 + 120.
  BitWriter w = dynamic_header(0, 0, 1, 1);
  w.code(1, 1).bits(127, 7).code(1, 1).bits(109, 7);
  check_fails_with(w.bytes(), "end-of-block symbol 256 has no code");
}

TEST_CASE("inflate refuses a bit pattern that a lone distance code leaves unassigned") {
  // Dynamic block: literal/length codes 256 -> "0", 257 -> "1"; a single
  // distance code 0 -> "0" (the one incomplete code RFC 1951 allows). The
  // data is symbol 257 followed by distance bits "1", which decode to nothing.
  BitWriter w;
  w.bits(1, 1).bits(2, 2).bits(1, 5).bits(0, 5).bits(14, 4);  // 258 + 1 codes
  // Code-length code lengths in transmission order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1:
  // 18 -> "0", 0 -> "10", 1 -> "11".
  for (unsigned length : {0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}) w.bits(length, 3);
  w.code(0, 1).bits(127, 7).code(0, 1).bits(107, 7);  // 138 + 118 = 256 zero lengths
  w.code(3, 2).code(3, 2).code(3, 2);                 // 256, 257 and distance 0: length 1
  w.code(1, 1).code(1, 1);                            // symbol 257, then distance bits "1"
  check_fails_with(w.bytes(), "deflate distance code: invalid code");
}

TEST_CASE("inflate on mutated streams either decodes or throws tinyq::Error") {
  // Flipping bits anywhere must never crash or hang; run under sanitizers
  // this also checks for out-of-bounds access.
  tinyq::Rng rng(1234);
  for (const Bytes* original : {&dynamic_stream, &fixed_stream, &multi_block_stream, &xyz_stream}) {
    for (int trial = 0; trial < 2000; ++trial) {
      Bytes s = *original;
      const int flips = 1 + static_cast<int>(rng.below(3));
      for (int f = 0; f < flips; ++f)
        s[rng.below(s.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
      try {
        const Bytes out = inflate(s, 4096);
        CHECK(out.size() <= 4096);
      } catch (const tinyq::Error&) {
      }
    }
  }
}

// ---- streams made by real zlib (tests/fixtures/make_fixtures.py) ----
//
// 70,000 bytes of text, noise, runs up to 1,200 bytes and copies from 1 to
// 32,768 bytes back, compressed at levels 1, 6 and 9 with the default,
// filtered, RLE and fixed-code strategies. Small blocks (zlib's memLevel)
// make zlib pick stored, fixed or dynamic per block, so these streams hold
// all three block types, every length symbol 257-285 and every distance
// code 0-29 (checked once with a counting build of this decoder).

TEST_CASE("inflate decodes zlib streams of every level and strategy byte for byte") {
  const Bytes original = tinyq::test::deflate_corpus(1, 70'000);
  for (const char* name :
       {"corpus_level1.deflate", "corpus_level6_small_blocks.deflate", "corpus_level9.deflate",
        "corpus_filtered.deflate", "corpus_rle.deflate", "corpus_fixed.deflate"}) {
    CAPTURE(name);
    const Bytes stream = tinyq::test::read_fixture(name);
    std::size_t consumed = 0;
    const Bytes decoded = inflate(stream, original.size(), &consumed);
    REQUIRE(decoded.size() == original.size());
    std::size_t first_difference = 0;
    while (first_difference < decoded.size() &&
           decoded[first_difference] == original[first_difference])
      ++first_difference;
    CHECK_MESSAGE(first_difference == decoded.size(),
                  "first wrong byte at offset " << first_difference);
    CHECK(consumed == stream.size());
    // A prefix decodes to the same bytes, cut inside a block or a match.
    for (const std::size_t count : {1u, 4096u, 33'333u, 65'536u}) {
      const Bytes prefix = tinyq::inflate_prefix(stream, count);
      CHECK(Bytes(original.begin(), original.begin() + static_cast<long>(count)) == prefix);
    }
  }
}

TEST_CASE("inflate refuses every real zlib stream cut short") {
  const Bytes stream = tinyq::test::read_fixture("corpus_level6_small_blocks.deflate");
  for (std::size_t keep = 0; keep < stream.size(); keep += 997) {
    CAPTURE(keep);
    check_fails_with(Bytes(stream.begin(), stream.begin() + static_cast<long>(keep)),
                     "unexpected end of input", 100'000);
  }
}
