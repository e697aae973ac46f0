// The IDX file format of the MNIST distribution (yann.lecun.com/exdb/mnist):
//
//   byte 0-1   0x00 0x00 (magic)
//   byte 2     element type: 0x08 ubyte, 0x09 sbyte, 0x0B i16, 0x0C i32,
//              0x0D f32, 0x0E f64
//   byte 3     rank (number of dimensions)
//   then       rank dimension sizes, each a big-endian u32
//   then       the elements, row-major, each big-endian
//
// Files are parsed strictly: the data must be exactly as long as the header
// says, so a truncated or padded file is reported, not silently used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

enum class IdxType : std::uint8_t {
  u8 = 0x08,
  i8 = 0x09,
  i16 = 0x0B,
  i32 = 0x0C,
  f32 = 0x0D,
  f64 = 0x0E,
};

std::size_t idx_element_size(IdxType type);
std::string idx_type_name(IdxType type);  // "ubyte", "sbyte", "short", ...

// What the header says: element type, dimensions, and where the data is.
struct IdxHeader {
  static constexpr std::size_t max_rank = 4;
  IdxType type = IdxType::u8;
  std::vector<std::size_t> dims;
  std::size_t header_size = 0;  // 4 + 4 * rank
  std::size_t data_size = 0;    // product of dims * element size, in bytes
};

// Parses and checks the header only; bytes may hold more than the header.
// Throws tinyq::Error naming source_name on a bad magic, unknown type, rank
// outside 1..max_rank, a truncated header, or a data size too large to
// represent.
IdxHeader parse_idx_header(std::span<const std::uint8_t> bytes, const std::string& source_name);

struct IdxArray {
  IdxType type = IdxType::u8;
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;  // the elements as stored: raw, big-endian
  std::size_t count() const;       // number of elements
};

// Parses a whole IDX file held in memory. Throws tinyq::Error naming
// source_name if the header is bad or the data is not exactly the size the
// header says (expected vs found).
IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& source_name);
// The same, taking the bytes over: the data is moved, not copied (a 47 MB
// image file is then held once, not twice, while it is read).
IdxArray parse_idx(std::vector<std::uint8_t>&& bytes, const std::string& source_name);

// Reads an IDX file, raw or gzip-compressed (recognized by the gzip magic,
// not the file name). Neither the file nor its decompressed data may exceed
// max_bytes; for a .gz file the IDX header is decoded first and checked
// against the trailer's ISIZE, so a header that claims more data than the
// file holds is refused before anything large is allocated.
inline constexpr std::uint64_t default_max_idx_bytes = std::uint64_t{1} << 30;  // 1 GiB
IdxArray read_idx_file(const std::filesystem::path& path,
                       std::uint64_t max_bytes = default_max_idx_bytes);

// The bytes of an IDX file. data is raw (big-endian elements) and must hold
// exactly product(dims) * idx_element_size(type) bytes.
std::vector<std::uint8_t> write_idx(IdxType type, std::span<const std::size_t> dims,
                                    std::span<const std::uint8_t> data);

}  // namespace tinyq
