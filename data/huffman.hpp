// Canonical Huffman codes as DEFLATE uses them (RFC 1951, section 3.2.2),
// and the LSB-first bit reader they are read with.
//
// A canonical code is fully described by the code length of each symbol:
// shorter codes come first, and codes of equal length are consecutive in
// symbol order. So a block only transmits lengths, and the decoder rebuilds
// the codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

// Reads a DEFLATE bit stream: bytes are consumed in order, and within a
// byte from the least significant bit up. Reading past the end of the input
// throws tinyq::Error ("unexpected end of input").
class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> input) : input_(input) {}

  // The next n bits (n <= 32) without consuming them; past the end of the
  // input they read as zero (consuming them is what fails).
  std::uint32_t peek(unsigned n) {
    if (count_ < n) refill();
    return static_cast<std::uint32_t>(buffer_ & ((std::uint64_t{1} << n) - 1));
  }
  void drop(unsigned n) {
    buffer_ >>= n;
    count_ -= n;
    consumed_bits_ += n;
    if (consumed_bits_ > 8 * static_cast<std::uint64_t>(input_.size())) throw_end_of_input();
  }
  std::uint32_t bits(unsigned n) {
    const std::uint32_t value = peek(n);
    drop(n);
    return value;
  }
  void align_to_byte() { drop(static_cast<unsigned>((8 - consumed_bits_ % 8) % 8)); }
  // Byte-aligned bulk read (stored blocks); call align_to_byte first.
  std::span<const std::uint8_t> take_bytes(std::size_t n);

  // Bytes consumed so far, a partly used last byte included.
  std::size_t byte_offset() const { return static_cast<std::size_t>((consumed_bits_ + 7) / 8); }

 private:
  void refill();
  [[noreturn]] void throw_end_of_input() const;

  std::span<const std::uint8_t> input_;
  std::size_t next_byte_ = 0;  // next input byte to load into buffer_
  std::uint64_t buffer_ = 0;   // loaded but unconsumed bits, next bit lowest
  unsigned count_ = 0;         // number of valid bits in buffer_
  std::uint64_t consumed_bits_ = 0;
};

// A decoding table for one canonical code: indexed by the next max_length
// bits of input, each entry gives the symbol and its true code length, so
// one lookup decodes one symbol. The table has 2^max_length entries (at most
// 32768), rebuilt per dynamic block.
class HuffmanDecoder {
 public:
  static constexpr unsigned max_code_length = 15;

  // lengths[s] is the code length of symbol s (0: s has no code). Throws
  // tinyq::Error (naming `what`) if the lengths over-subscribe the code
  // space, or leave it incomplete (allowed only for a code with one symbol,
  // as RFC 1951 allows for a lone distance code), or if no symbol has a code
  // and allow_empty is false.
  HuffmanDecoder(std::span<const std::uint8_t> lengths, const char* what, bool allow_empty = false);

  std::uint32_t decode(BitReader& bits) const {
    const std::uint32_t entry = table_[bits.peek(max_length_)];
    const unsigned length = entry & 0xFu;
    if (length == 0) throw_invalid_code(bits);
    bits.drop(length);
    return entry >> 4;
  }

 private:
  [[noreturn]] void throw_invalid_code(const BitReader& bits) const;

  // Entry: symbol << 4 | code length; 0 marks bit patterns that no code
  // starts with (possible only for incomplete or empty codes).
  std::vector<std::uint32_t> table_;
  unsigned max_length_ = 0;
  std::string what_;
};

}  // namespace tinyq
