// Little-endian binary writing and reading for model files.
//
// The reader works on bytes already in memory and checks every read against
// the end, so a truncated or hostile file produces an error that names the
// file and the byte offset instead of reading past the end. Array reads are
// checked against the bytes that remain *before* anything is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyq {

class BinaryWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void f32(float v);
  void string(const std::string& s);  // u32 length, then the bytes
  void f32_array(std::span<const float> values);
  void raw(std::span<const std::uint8_t> data);

  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

class BinaryReader {
 public:
  // `source` names the file in error messages. When `data` is a slice of a
  // larger file, `base_offset` is where it starts, so errors report offsets
  // in the file rather than in the slice.
  BinaryReader(std::span<const std::uint8_t> data, std::string source, std::size_t base_offset = 0);

  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  float f32();
  std::string string(std::size_t max_length = 256);
  // Reads count floats; throws before allocating if fewer bytes remain.
  void f32_array(std::span<float> out);
  std::span<const std::uint8_t> raw(std::size_t count);

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return data_.size() - offset_; }
  const std::string& source() const { return source_; }

  // Throws tinyq::Error "<source>: <what> at byte <base_offset + offset>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void need(std::size_t count, const char* what);
  std::span<const std::uint8_t> data_;
  std::size_t offset_ = 0;
  std::size_t base_offset_ = 0;
  std::string source_;
};

}  // namespace tinyq
