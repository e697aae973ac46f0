// DEFLATE decoding, following RFC 1951 section 3.2.
//
// A stream is a sequence of blocks; each starts with BFINAL (1 bit) and
// BTYPE (2 bits): 0 stored, 1 compressed with the fixed Huffman codes,
// 2 compressed with codes sent in the block header, 3 invalid. A compressed
// block is a sequence of literal/length symbols: 0..255 are literal bytes,
// 256 ends the block, 257..285 start a back-reference <length, distance>
// that copies `length` bytes from `distance` bytes back in the output.
#include "data/inflate.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "core/error.hpp"
#include "data/huffman.hpp"

namespace tinyq {
namespace {

// Length symbols 257..285 and distance symbols 0..29: a base value plus a
// number of extra bits read after the symbol (RFC 1951, 3.2.5).
constexpr std::array<std::uint16_t, 29> length_base = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                                       15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                                       67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::array<std::uint8_t, 29> length_extra = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<std::uint16_t, 30> distance_base = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr std::array<std::uint8_t, 30> distance_extra = {0, 0, 0,  0,  1,  1,  2,  2,  3,  3,
                                                         4, 4, 5,  5,  6,  6,  7,  7,  8,  8,
                                                         9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

std::string at(const BitReader& bits) {
  return " at byte " + std::to_string(bits.byte_offset());
}

class Inflater {
 public:
  Inflater(std::span<const std::uint8_t> input, std::size_t limit, bool stop_at_limit)
      : bits_(input), limit_(limit), stop_at_limit_(stop_at_limit) {
    // Deflate expands at most 1032-fold (a 258-byte match in 2 bits), so
    // reserving up to that bound never exceeds what the input can produce,
    // and an honest limit (gzip's ISIZE) is reached without the doubling
    // below, which holds the old and the new buffer at once (for a 47 MB
    // image file, 80 MB at the peak). Reserved pages cost no memory until
    // they are written.
    constexpr std::size_t max_expansion = 1032;
    if (input.size() < limit / max_expansion) return;
    out_.reserve(limit);
  }

  std::vector<std::uint8_t> run(std::size_t* consumed) {
    bool final_block = false;
    while (!final_block && !full_) {
      final_block = bits_.bits(1) == 1;
      const std::uint32_t type = bits_.bits(2);
      if (type == 0) {
        stored_block();
      } else if (type == 1) {
        static const HuffmanDecoder fixed_literals(fixed_literal_lengths(),
                                                   "deflate fixed literal/length code");
        static const HuffmanDecoder fixed_distances(fixed_distance_lengths(),
                                                    "deflate fixed distance code");
        compressed_block(fixed_literals, fixed_distances);
      } else if (type == 2) {
        dynamic_block();
      } else {
        throw Error("deflate: invalid block type 3" + at(bits_));
      }
    }
    if (consumed) *consumed = bits_.byte_offset();
    out_.resize(written_);
    return std::move(out_);
  }

 private:
  static std::array<std::uint8_t, 288> fixed_literal_lengths() {
    std::array<std::uint8_t, 288> lengths{};
    std::fill(lengths.begin(), lengths.begin() + 144, 8);
    std::fill(lengths.begin() + 144, lengths.begin() + 256, 9);
    std::fill(lengths.begin() + 256, lengths.begin() + 280, 7);
    std::fill(lengths.begin() + 280, lengths.end(), 8);
    return lengths;
  }
  static std::array<std::uint8_t, 32> fixed_distance_lengths() {
    std::array<std::uint8_t, 32> lengths{};
    lengths.fill(5);
    return lengths;
  }

  // Makes room for n more bytes and returns how many may be written: all n,
  // or (when decoding a prefix) what fits below the limit. The buffer grows
  // by doubling, never past the limit, so its size follows the output
  // actually produced rather than any size a header claims.
  std::size_t room_for(std::size_t n) {
    if (n > limit_ - written_) {
      if (!stop_at_limit_)
        throw Error("deflate: output exceeds the limit of " + std::to_string(limit_) + " bytes" +
                    at(bits_));
      full_ = true;
      n = limit_ - written_;
    }
    if (n > out_.size() - written_)
      out_.resize(std::min(limit_, std::max({2 * out_.size(), written_ + n, std::size_t{4096}})));
    return n;
  }

  void stored_block() {
    // Stored: skip to a byte boundary, then LEN and its one's complement NLEN.
    bits_.align_to_byte();
    const std::uint32_t length = bits_.bits(16);
    const std::uint32_t complement = bits_.bits(16);
    if ((length ^ 0xFFFFu) != complement)
      throw Error("deflate: stored block LEN " + std::to_string(length) + " does not match NLEN " +
                  std::to_string(complement) + " (expected its one's complement)" + at(bits_));
    const auto data = bits_.take_bytes(length);
    const std::size_t n = room_for(data.size());
    std::copy_n(data.begin(), n, out_.begin() + static_cast<std::ptrdiff_t>(written_));
    written_ += n;
  }

  void dynamic_block() {
    // Header: counts, then the code-length code's lengths (3 bits each, in
    // this order), then the literal/length and distance code lengths, run-
    // length encoded with that code.
    const std::size_t literal_count = bits_.bits(5) + 257;
    const std::size_t distance_count = bits_.bits(5) + 1;
    const std::size_t length_code_count = bits_.bits(4) + 4;
    if (literal_count > 286 || distance_count > 30)
      throw Error("deflate: bad code lengths: " + std::to_string(literal_count) +
                  " literal/length and " + std::to_string(distance_count) +
                  " distance codes (at most 286 and 30)" + at(bits_));
    static constexpr std::array<std::uint8_t, 19> order = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                           11, 4,  12, 3, 13, 2, 14, 1, 15};
    std::array<std::uint8_t, 19> length_code_lengths{};
    for (std::size_t i = 0; i < length_code_count; ++i)
      length_code_lengths[order[i]] = static_cast<std::uint8_t>(bits_.bits(3));
    const HuffmanDecoder length_code(length_code_lengths, "deflate code-length code");

    std::array<std::uint8_t, 286 + 30> lengths{};
    const std::size_t total = literal_count + distance_count;
    for (std::size_t i = 0; i < total;) {
      const std::uint32_t symbol = length_code.decode(bits_);
      if (symbol < 16) {
        lengths[i++] = static_cast<std::uint8_t>(symbol);
        continue;
      }
      // 16: repeat the previous length 3-6 times; 17, 18: 3-10 or 11-138 zeros.
      std::uint8_t value = 0;
      std::size_t repeat = 0;
      if (symbol == 16) {
        if (i == 0)
          throw Error("deflate: bad code lengths: repeat code 16 with no previous length" +
                      at(bits_));
        value = lengths[i - 1];
        repeat = 3 + bits_.bits(2);
      } else if (symbol == 17) {
        repeat = 3 + bits_.bits(3);
      } else {
        repeat = 11 + bits_.bits(7);
      }
      if (repeat > total - i)
        throw Error("deflate: bad code lengths: repeat runs past the " + std::to_string(total) +
                    " code lengths" + at(bits_));
      std::fill_n(lengths.begin() + static_cast<std::ptrdiff_t>(i), repeat, value);
      i += repeat;
    }
    if (lengths[256] == 0)
      throw Error("deflate: bad code lengths: end-of-block symbol 256 has no code" + at(bits_));

    const std::span<const std::uint8_t> all(lengths.data(), total);
    const HuffmanDecoder literals(all.first(literal_count), "deflate literal/length code");
    // A block of literals only may send no distance codes at all.
    const HuffmanDecoder distances(all.subspan(literal_count), "deflate distance code", true);
    compressed_block(literals, distances);
  }

  void compressed_block(const HuffmanDecoder& literals, const HuffmanDecoder& distances) {
    for (;;) {
      const std::uint32_t symbol = literals.decode(bits_);
      if (symbol < 256) {
        if (room_for(1) == 0) return;
        out_[written_++] = static_cast<std::uint8_t>(symbol);
        continue;
      }
      if (symbol == 256) return;
      if (symbol > 285)
        throw Error("deflate: invalid literal/length symbol " + std::to_string(symbol) + at(bits_));
      const std::size_t l = symbol - 257;
      const std::size_t length = length_base[l] + bits_.bits(length_extra[l]);
      const std::uint32_t d = distances.decode(bits_);
      if (d > 29) throw Error("deflate: invalid distance symbol " + std::to_string(d) + at(bits_));
      const std::size_t distance = distance_base[d] + bits_.bits(distance_extra[d]);
      if (distance > written_)
        throw Error("deflate: distance " + std::to_string(distance) + " is too far back (only " +
                    std::to_string(written_) + " bytes of output so far)" + at(bits_));
      // Copy byte by byte, front to back: when distance < length the source
      // overlaps the bytes being written, which repeats the last `distance`
      // bytes (distance 1 is a run of one byte).
      const std::size_t n = room_for(length);
      std::uint8_t* dst = out_.data() + written_;
      const std::uint8_t* src = dst - distance;
      for (std::size_t k = 0; k < n; ++k) dst[k] = src[k];
      written_ += n;
      if (full_) return;
    }
  }

  BitReader bits_;
  std::vector<std::uint8_t> out_;  // out_[0, written_) is the output; the rest is room
  std::size_t written_ = 0;
  std::size_t limit_;
  bool stop_at_limit_;
  bool full_ = false;  // prefix mode: the limit has been reached
};

}  // namespace

std::vector<std::uint8_t> inflate(std::span<const std::uint8_t> compressed, std::size_t max_output,
                                  std::size_t* consumed) {
  return Inflater(compressed, max_output, false).run(consumed);
}

std::vector<std::uint8_t> inflate_prefix(std::span<const std::uint8_t> compressed,
                                         std::size_t count) {
  return Inflater(compressed, count, true).run(nullptr);
}

}  // namespace tinyq
