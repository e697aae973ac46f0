// gzip (RFC 1952) reading and a minimal writer.
//
// Header: ID1 ID2 (1f 8b), CM (8 = deflate), FLG, MTIME (4), XFL, OS, then,
// as FLG says: FEXTRA (2-byte length + data), FNAME and FCOMMENT (zero-
// terminated), FHCRC (low 16 bits of the CRC-32 of the header so far).
// Trailer: CRC32 and ISIZE, both little-endian.
#include "data/gzip.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "data/inflate.hpp"

namespace tinyq {
namespace {

constexpr std::uint8_t flag_text = 1, flag_header_crc = 2, flag_extra = 4, flag_name = 8,
                       flag_comment = 16, flag_reserved = 0xE0;
constexpr std::size_t fixed_header_size = 10, trailer_size = 8;

std::uint32_t little_endian(std::span<const std::uint8_t> bytes, std::size_t at,
                            std::size_t width) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value |= std::uint32_t{bytes[at + i]} << (8 * i);
  return value;
}

[[noreturn]] void fail(const std::string& source_name, const std::string& what) {
  throw Error(source_name + ": " + what);
}

}  // namespace

bool has_gzip_magic(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

GzipLayout read_gzip_layout(std::span<const std::uint8_t> bytes, const std::string& source_name) {
  if (!has_gzip_magic(bytes)) fail(source_name, "not a gzip file (expected magic 1f 8b at byte 0)");
  if (bytes.size() < fixed_header_size + trailer_size)
    fail(source_name, "truncated gzip file: " + std::to_string(bytes.size()) +
                          " bytes, expected at least " +
                          std::to_string(fixed_header_size + trailer_size));
  if (bytes[2] != 8)
    fail(source_name, "unsupported gzip compression method " + std::to_string(bytes[2]) +
                          " at byte 2 (expected 8, deflate)");
  const std::uint8_t flags = bytes[3];
  if (flags & flag_reserved)
    fail(source_name,
         "gzip header has reserved flag bits set (FLG = " + std::to_string(flags) + ")");

  // The optional fields may not reach into the trailer.
  const std::size_t header_limit = bytes.size() - trailer_size;
  std::size_t pos = fixed_header_size;
  const auto truncated = [&](const char* field) {
    fail(source_name,
         std::string("truncated gzip header: ") + field + " runs past the end of the file");
  };
  if (flags & flag_extra) {
    if (header_limit - pos < 2) truncated("FEXTRA length");
    const std::size_t extra_length = little_endian(bytes, pos, 2);
    pos += 2;
    if (header_limit - pos < extra_length) truncated("FEXTRA");
    pos += extra_length;
  }
  for (std::uint8_t flag : {flag_name, flag_comment}) {
    if (!(flags & flag)) continue;
    const auto end = std::find(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                               bytes.begin() + static_cast<std::ptrdiff_t>(header_limit), 0);
    if (end == bytes.begin() + static_cast<std::ptrdiff_t>(header_limit))
      truncated(flag == flag_name ? "FNAME" : "FCOMMENT");
    pos = static_cast<std::size_t>(end - bytes.begin()) + 1;
  }
  if (flags & flag_header_crc) {
    if (header_limit - pos < 2) truncated("FHCRC");
    const std::uint32_t expected = crc32(bytes.first(pos)) & 0xFFFFu;
    const std::uint32_t found = little_endian(bytes, pos, 2);
    if (expected != found)
      fail(source_name, "gzip header CRC mismatch: header says " + std::to_string(found) +
                            ", computed " + std::to_string(expected));
    pos += 2;
  }
  (void)flag_text;  // FTEXT is only a hint about the content; nothing to do.

  GzipLayout layout;
  layout.deflate_offset = pos;
  layout.crc = little_endian(bytes, header_limit, 4);
  layout.size = little_endian(bytes, header_limit + 4, 4);
  return layout;
}

std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes,
                                 const std::string& source_name, std::size_t max_output) {
  const GzipLayout layout = read_gzip_layout(bytes, source_name);
  // ISIZE is the length mod 2^32; outputs this code accepts stay below
  // 4 GiB, so it is the exact length, and decoding stops as soon as the data
  // would outgrow it.
  const std::size_t limit = std::min<std::size_t>(max_output, layout.size);
  // The deflate stream must fill exactly the space between header and
  // trailer; decoding it alone makes a truncated file end inside the stream.
  const auto stream =
      bytes.subspan(layout.deflate_offset, bytes.size() - trailer_size - layout.deflate_offset);
  std::vector<std::uint8_t> out;
  std::size_t consumed = 0;
  try {
    out = inflate(stream, limit, &consumed);
  } catch (const Error& e) {
    fail(source_name, std::string("corrupt gzip data: ") + e.what() + " (ISIZE " +
                          std::to_string(layout.size) + ", max_output " +
                          std::to_string(max_output) + ")");
  }
  if (consumed != stream.size())
    fail(source_name,
         std::to_string(stream.size() - consumed) +
             " unexpected bytes after the deflate data at byte " +
             std::to_string(layout.deflate_offset + consumed) +
             " (trailing garbage, or a multi-member gzip file, which is not supported)");
  if (out.size() != layout.size)
    fail(source_name, "gzip ISIZE mismatch: trailer says " + std::to_string(layout.size) +
                          " bytes, data decompresses to " + std::to_string(out.size()));
  const std::uint32_t crc = crc32(out);
  if (crc != layout.crc)
    fail(source_name, "gzip CRC-32 mismatch: trailer says " + std::to_string(layout.crc) +
                          ", data has " + std::to_string(crc));
  return out;
}

std::vector<std::uint8_t> gunzip_prefix(std::span<const std::uint8_t> bytes,
                                        const std::string& source_name, std::size_t count) {
  const GzipLayout layout = read_gzip_layout(bytes, source_name);
  try {
    return inflate_prefix(bytes.subspan(layout.deflate_offset), count);
  } catch (const Error& e) {
    fail(source_name, std::string("corrupt gzip data: ") + e.what());
  }
}

std::vector<std::uint8_t> gzip_stored(std::span<const std::uint8_t> bytes) {
  // Header: magic, CM = 8, no flags, MTIME 0 (unknown), XFL 0, OS 255 (unknown).
  std::vector<std::uint8_t> out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
  const auto put_le = [&](std::uint32_t value, int width) {
    for (int i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  };
  // Stored blocks hold at most 65535 bytes; the header byte is BFINAL in bit
  // 0 with BTYPE 00, then (already byte-aligned) LEN and NLEN.
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(bytes.size() - pos, 65535);
    const bool final_block = pos + n == bytes.size();
    out.push_back(final_block ? 1 : 0);
    put_le(static_cast<std::uint32_t>(n), 2);
    put_le(static_cast<std::uint32_t>(n) ^ 0xFFFFu, 2);
    out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(pos),
               bytes.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < bytes.size());
  put_le(crc32(bytes), 4);
  put_le(static_cast<std::uint32_t>(bytes.size()), 4);
  return out;
}

}  // namespace tinyq
