// Canonical Huffman decoding tables and the DEFLATE bit reader.
#include "data/huffman.hpp"

#include <array>

#include "core/error.hpp"

namespace tinyq {

void BitReader::refill() {
  // Load whole bytes while at least 8 bits are free. Bytes past the end load
  // as zeros; at most 8 of them, since drop() fails as soon as one of their
  // bits is consumed.
  while (count_ <= 56) {
    const std::uint64_t byte = next_byte_ < input_.size() ? input_[next_byte_] : 0;
    ++next_byte_;
    buffer_ |= byte << count_;
    count_ += 8;
  }
}

std::span<const std::uint8_t> BitReader::take_bytes(std::size_t n) {
  const std::size_t start = static_cast<std::size_t>(consumed_bits_ / 8);
  if (n > input_.size() - start) {
    consumed_bits_ = 8 * static_cast<std::uint64_t>(input_.size());
    throw_end_of_input();
  }
  // Discard the look-ahead and restart loading right after the taken bytes.
  next_byte_ = start + n;
  consumed_bits_ = 8 * static_cast<std::uint64_t>(next_byte_);
  buffer_ = 0;
  count_ = 0;
  return input_.subspan(start, n);
}

void BitReader::throw_end_of_input() const {
  throw Error("deflate: unexpected end of input after " + std::to_string(input_.size()) +
              " bytes (stream is truncated)");
}

HuffmanDecoder::HuffmanDecoder(std::span<const std::uint8_t> lengths, const char* what,
                               bool allow_empty)
    : what_(what) {
  std::array<unsigned, max_code_length + 1> count_of_length{};
  std::size_t symbols_with_codes = 0;
  for (std::uint8_t length : lengths) {
    if (length > max_code_length)
      throw Error(what_ + ": code length " + std::to_string(length) + " exceeds 15");
    if (length == 0) continue;
    ++count_of_length[length];
    ++symbols_with_codes;
    if (length > max_length_) max_length_ = length;
  }
  if (symbols_with_codes == 0) {
    if (!allow_empty) throw Error(what_ + ": no symbol has a code (all code lengths are zero)");
    max_length_ = 1;  // every lookup hits an empty entry and fails
    table_.assign(2, 0);
    return;
  }

  // Kraft sum: each length-L code uses 2^-L of the code space. `left` counts
  // the unused codes at each length; negative means over-subscribed.
  long left = 1;
  for (unsigned length = 1; length <= max_code_length; ++length) {
    left = 2 * left - static_cast<long>(count_of_length[length]);
    if (left < 0)
      throw Error(what_ + ": over-subscribed code (code lengths use more than the code space)");
  }
  if (left > 0 && symbols_with_codes != 1)
    throw Error(what_ + ": incomplete code (code lengths leave part of the code space unused)");

  // First code of each length (RFC 1951, 3.2.2, step 2).
  std::array<std::uint32_t, max_code_length + 2> next_code{};
  for (unsigned length = 1; length <= max_code_length; ++length)
    next_code[length + 1] = (next_code[length] + count_of_length[length]) << 1;

  // Codes are sent most significant bit first, but the reader hands out bits
  // least significant first, so each code is bit-reversed to form the index.
  // A code of length L fills every index whose low L bits match it.
  table_.assign(std::size_t{1} << max_length_, 0);
  for (std::size_t symbol = 0; symbol < lengths.size(); ++symbol) {
    const unsigned length = lengths[symbol];
    if (length == 0) continue;
    const std::uint32_t code = next_code[length]++;
    std::uint32_t reversed = 0;
    for (unsigned i = 0; i < length; ++i) reversed |= ((code >> i) & 1u) << (length - 1 - i);
    const auto entry = static_cast<std::uint32_t>(symbol << 4 | length);
    for (std::size_t index = reversed; index < table_.size(); index += std::size_t{1} << length)
      table_[index] = entry;
  }
}

void HuffmanDecoder::throw_invalid_code(const BitReader& bits) const {
  throw Error(what_ + ": invalid code (bit pattern assigned to no symbol) at byte " +
              std::to_string(bits.byte_offset()));
}

}  // namespace tinyq
