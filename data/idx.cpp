// IDX parsing and writing.
#include "data/idx.hpp"

#include <algorithm>
#include <limits>

#include "core/error.hpp"
#include "core/io/file_io.hpp"
#include "data/gzip.hpp"

namespace tinyq {
namespace {

std::uint32_t big_endian_u32(std::span<const std::uint8_t> bytes, std::size_t at) {
  return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 |
         std::uint32_t{bytes[at + 2]} << 8 | std::uint32_t{bytes[at + 3]};
}

std::string hex_byte(std::uint8_t b) {
  const char* digits = "0123456789abcdef";
  return {'0', 'x', digits[b >> 4], digits[b & 0xF]};
}

bool known_type(std::uint8_t t) {
  return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E;
}

}  // namespace

std::size_t idx_element_size(IdxType type) {
  switch (type) {
    case IdxType::u8:
    case IdxType::i8:
      return 1;
    case IdxType::i16:
      return 2;
    case IdxType::i32:
    case IdxType::f32:
      return 4;
    case IdxType::f64:
      return 8;
  }
  throw Error("idx: unknown element type " + hex_byte(static_cast<std::uint8_t>(type)));
}

std::string idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::u8:
      return "ubyte";
    case IdxType::i8:
      return "sbyte";
    case IdxType::i16:
      return "short";
    case IdxType::i32:
      return "int";
    case IdxType::f32:
      return "float";
    case IdxType::f64:
      return "double";
  }
  return "unknown (" + hex_byte(static_cast<std::uint8_t>(type)) + ")";
}

std::size_t IdxArray::count() const {
  std::size_t n = 1;
  for (std::size_t d : dims) n *= d;
  return dims.empty() ? 0 : n;
}

IdxHeader parse_idx_header(std::span<const std::uint8_t> bytes, const std::string& source_name) {
  const auto fail = [&](const std::string& what) -> void {
    throw Error(source_name + ": " + what);
  };
  if (bytes.size() < 4)
    fail("truncated IDX header: expected at least 4 bytes, found " + std::to_string(bytes.size()));
  if (bytes[0] != 0 || bytes[1] != 0)
    fail("bad IDX magic: expected 0x00 0x00 at byte 0, found " + hex_byte(bytes[0]) + " " +
         hex_byte(bytes[1]));
  if (!known_type(bytes[2]))
    fail("unknown IDX element type " + hex_byte(bytes[2]) +
         " at byte 2 (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)");
  IdxHeader header;
  header.type = static_cast<IdxType>(bytes[2]);
  const std::size_t rank = bytes[3];
  if (rank < 1 || rank > IdxHeader::max_rank)
    fail("bad IDX rank " + std::to_string(rank) + " at byte 3 (expected 1 to " +
         std::to_string(IdxHeader::max_rank) + ")");
  header.header_size = 4 + 4 * rank;
  if (bytes.size() < header.header_size)
    fail("truncated IDX header: rank " + std::to_string(rank) + " needs " +
         std::to_string(header.header_size) + " bytes, found " + std::to_string(bytes.size()));

  // Each dimension is below 2^32 and the rank at most 4, so the product could
  // reach 2^128: check every step against a limit far above any real file.
  const std::uint64_t max_data_size = std::uint64_t{1} << 48;
  std::uint64_t size = idx_element_size(header.type);
  for (std::size_t axis = 0; axis < rank; ++axis) {
    const std::uint32_t d = big_endian_u32(bytes, 4 + 4 * axis);
    header.dims.push_back(d);
    if (d != 0 && size > max_data_size / d)
      fail("IDX dimensions " + std::to_string(d) + " at axis " + std::to_string(axis) +
           " make the data larger than 2^48 bytes");
    size *= d;
  }
  if (size > std::numeric_limits<std::size_t>::max())
    fail("IDX data of " + std::to_string(size) + " bytes does not fit in memory");
  header.data_size = static_cast<std::size_t>(size);
  return header;
}

namespace {

// The header of bytes, checked against the number of bytes that follow it.
IdxHeader parse_checked_header(std::span<const std::uint8_t> bytes,
                               const std::string& source_name) {
  IdxHeader header = parse_idx_header(bytes, source_name);
  const std::size_t found = bytes.size() - header.header_size;
  if (found != header.data_size) {
    std::string dims;
    for (std::size_t d : header.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
    throw Error(source_name + ": IDX data size mismatch: header (" + idx_type_name(header.type) +
                ", " + dims + ") says " + std::to_string(header.data_size) + " bytes after the " +
                std::to_string(header.header_size) + "-byte header, found " +
                std::to_string(found) +
                (found < header.data_size ? " (truncated)" : " (trailing bytes)"));
  }
  return header;
}

}  // namespace

IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& source_name) {
  const IdxHeader header = parse_checked_header(bytes, source_name);
  IdxArray array;
  array.type = header.type;
  array.dims = header.dims;
  const auto data = bytes.subspan(header.header_size);
  array.data.assign(data.begin(), data.end());
  return array;
}

IdxArray parse_idx(std::vector<std::uint8_t>&& bytes, const std::string& source_name) {
  const IdxHeader header = parse_checked_header(bytes, source_name);
  IdxArray array;
  array.type = header.type;
  array.dims = header.dims;
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header.header_size));
  array.data = std::move(bytes);
  return array;
}

IdxArray read_idx_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string name = path.string();
  std::vector<std::uint8_t> file = read_file(path, max_bytes);
  if (!has_gzip_magic(file)) return parse_idx(std::move(file), name);

  // Decode just the header (at most 4 + 4 * max_rank bytes) and compare the
  // size it implies with ISIZE and the cap before decompressing the rest.
  const GzipLayout layout = read_gzip_layout(file, name);
  const auto head = gunzip_prefix(file, name, 4 + 4 * IdxHeader::max_rank);
  const IdxHeader header = parse_idx_header(head, name);
  const std::uint64_t total = std::uint64_t{header.header_size} + header.data_size;
  if (total > max_bytes)
    throw Error(name + ": IDX header says " + std::to_string(total) +
                " bytes after decompression, more than the limit of " + std::to_string(max_bytes));
  if (total != layout.size)
    throw Error(name + ": IDX header says the decompressed file is " + std::to_string(total) +
                " bytes, but the gzip trailer (ISIZE) says " + std::to_string(layout.size));
  std::vector<std::uint8_t> bytes = gunzip(file, name, static_cast<std::size_t>(total));
  file = {};  // the compressed copy is not needed any more
  return parse_idx(std::move(bytes), name);
}

std::vector<std::uint8_t> write_idx(IdxType type, std::span<const std::size_t> dims,
                                    std::span<const std::uint8_t> data) {
  if (dims.empty() || dims.size() > IdxHeader::max_rank)
    throw Error("write_idx: rank " + std::to_string(dims.size()) + " (expected 1 to " +
                std::to_string(IdxHeader::max_rank) + ")");
  std::size_t expected = idx_element_size(type);
  std::vector<std::uint8_t> out = {0, 0, static_cast<std::uint8_t>(type),
                                   static_cast<std::uint8_t>(dims.size())};
  for (std::size_t d : dims) {
    if (d > std::numeric_limits<std::uint32_t>::max())
      throw Error("write_idx: dimension " + std::to_string(d) + " does not fit in 32 bits");
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
    expected *= d;
  }
  if (data.size() != expected)
    throw Error("write_idx: data holds " + std::to_string(data.size()) + " bytes, dims need " +
                std::to_string(expected));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace tinyq
