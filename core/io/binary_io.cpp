// Little-endian encoding of the few scalar types a model file holds.
//
// Values are assembled byte by byte, so the format is the same whatever the
// host's byte order; floats travel as their IEEE-754 bit patterns.
#include "core/io/binary_io.hpp"

#include <bit>
#include <utility>

#include "core/error.hpp"

namespace tinyq {

void BinaryWriter::u32(std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8)
    bytes_.push_back(static_cast<std::uint8_t>(v >> shift));
}

void BinaryWriter::u64(std::uint64_t v) {
  for (int shift = 0; shift < 64; shift += 8)
    bytes_.push_back(static_cast<std::uint8_t>(v >> shift));
}

void BinaryWriter::f32(float v) {
  u32(std::bit_cast<std::uint32_t>(v));
}

void BinaryWriter::string(const std::string& s) {
  u32(static_cast<std::uint32_t>(s.size()));
  bytes_.insert(bytes_.end(), s.begin(), s.end());
}

void BinaryWriter::f32_array(std::span<const float> values) {
  bytes_.reserve(bytes_.size() + 4 * values.size());
  for (float v : values) f32(v);
}

void BinaryWriter::raw(std::span<const std::uint8_t> data) {
  bytes_.insert(bytes_.end(), data.begin(), data.end());
}

BinaryReader::BinaryReader(std::span<const std::uint8_t> data, std::string source,
                           std::size_t base_offset)
    : data_(data), base_offset_(base_offset), source_(std::move(source)) {}

void BinaryReader::fail(const std::string& what) const {
  throw Error(source_ + ": " + what + " at byte " + std::to_string(base_offset_ + offset_));
}

void BinaryReader::need(std::size_t count, const char* what) {
  if (count > remaining())
    fail(std::string("truncated: ") + what + " needs " + std::to_string(count) + " bytes, found " +
         std::to_string(remaining()));
}

std::uint8_t BinaryReader::u8() {
  need(1, "u8");
  return data_[offset_++];
}

std::uint32_t BinaryReader::u32() {
  need(4, "u32");
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{data_[offset_ + i]} << (8 * i);
  offset_ += 4;
  return v;
}

std::uint64_t BinaryReader::u64() {
  need(8, "u64");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{data_[offset_ + i]} << (8 * i);
  offset_ += 8;
  return v;
}

float BinaryReader::f32() {
  return std::bit_cast<float>(u32());
}

std::string BinaryReader::string(std::size_t max_length) {
  const std::uint32_t length = u32();
  if (length > max_length)
    fail("string of " + std::to_string(length) + " bytes, limit is " + std::to_string(max_length));
  const auto bytes = raw(length);
  return std::string(bytes.begin(), bytes.end());
}

void BinaryReader::f32_array(std::span<float> out) {
  // Divide rather than multiply so a huge count cannot overflow the check.
  if (out.size() > remaining() / 4)
    fail("truncated: " + std::to_string(out.size()) + " floats need " + std::to_string(out.size()) +
         "*4 bytes, found " + std::to_string(remaining()));
  for (float& v : out) v = f32();
}

std::span<const std::uint8_t> BinaryReader::raw(std::size_t count) {
  need(count, "raw bytes");
  const auto bytes = data_.subspan(offset_, count);
  offset_ += count;
  return bytes;
}

}  // namespace tinyq
