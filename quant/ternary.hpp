// Packing ternary codes {-1, 0, +1} five to a byte: 3^5 = 243 <= 256, so
// 1.6 bits per weight (log2 3 ≈ 1.585 is the least possible), as llama.cpp's
// TQ1_0 does.
//
// Layout: code k of a row is base-3 digit k % 5 of byte k / 5, least
// significant digit first, stored as d = q + 1 (0, 1, 2):
//   byte = d_0 + 3·d_1 + 9·d_2 + 27·d_3 + 81·d_4      (0..242)
// A row of n codes takes ceil(n / 5) bytes and starts at a byte boundary;
// the unused digits of its last byte are zero, so that byte is < 3^(n % 5).
// In numpy, for one row:
//   d = (codes[:, None] // 3 ** np.arange(5)) % 3;  q = d.reshape(-1)[:n] - 1
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace tinyq {

// Bytes one row of `count` ternary codes takes: ceil(count / 5).
std::size_t ternary_row_bytes(std::size_t count);

// Writes codes (each -1, 0 or 1; tinyq::Error otherwise) into out
// (ternary_row_bytes(codes.size()) bytes).
void pack_ternary(std::span<const std::int32_t> codes, std::span<std::uint8_t> out);

// Reads out.size() codes from packed (at least ternary_row_bytes bytes).
void unpack_ternary(std::span<const std::uint8_t> packed, std::span<std::int32_t> out);

// What is wrong with a stored row of `count` codes (a byte above 242, or a
// nonzero unused digit), or nullopt when nothing is.
std::optional<std::string> ternary_row_problem(std::span<const std::uint8_t> packed,
                                               std::size_t count);

}  // namespace tinyq
