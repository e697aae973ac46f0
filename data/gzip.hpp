// The gzip file format (RFC 1952): a header, one DEFLATE stream, and a
// trailer holding the CRC-32 and the length (mod 2^32) of the original data.
//
// Only single-member files are accepted: bytes after the first member's
// trailer are refused rather than decoded as further members. The MNIST
// files (and `gzip file`) are single-member; refusing the rest means a file
// with junk appended is reported instead of half-read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

// True if bytes start with the gzip magic 1f 8b.
bool has_gzip_magic(std::span<const std::uint8_t> bytes);

// Where the parts of a gzip file are, from its header and trailer alone.
struct GzipLayout {
  std::size_t deflate_offset = 0;  // first byte of the DEFLATE stream
  std::uint32_t crc = 0;           // CRC-32 of the uncompressed data (trailer)
  std::uint32_t size = 0;          // ISIZE: uncompressed length mod 2^32 (trailer)
};

// Checks the header (magic, CM = 8, no reserved flag bits, optional fields
// complete, header CRC if FHCRC) and reads the trailer. Throws tinyq::Error
// naming source_name.
GzipLayout read_gzip_layout(std::span<const std::uint8_t> bytes, const std::string& source_name);

// Decompresses a whole gzip file. Throws tinyq::Error (naming source_name)
// if the file is malformed, its data would expand beyond ISIZE or beyond
// max_output, its CRC-32 or ISIZE does not match, or bytes follow the
// trailer. Output grows as it is decoded; nothing is reserved from ISIZE.
std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes,
                                 const std::string& source_name, std::size_t max_output);

// The first `count` decompressed bytes (fewer if the data is shorter),
// without decoding the rest; the trailer is not checked.
std::vector<std::uint8_t> gunzip_prefix(std::span<const std::uint8_t> bytes,
                                        const std::string& source_name, std::size_t count);

// Writes a valid gzip file whose DEFLATE stream uses stored (uncompressed)
// blocks: no compression, but readable by any gunzip. Tests and fuzz seed
// corpora use it to make .gz files without zlib.
std::vector<std::uint8_t> gzip_stored(std::span<const std::uint8_t> bytes);

}  // namespace tinyq
