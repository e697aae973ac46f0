// QuantizedMatrix: the stored form of a quantized weight matrix W [rows, cols].
//
// Weights are split into blocks that share one scale (and, asymmetric, one
// offset). Every block is a contiguous run of the row-major matrix: the whole
// matrix (tensor), one row (channel) or up to group_size consecutive entries
// of one row (group; the last group of a row is shorter when group_size does
// not divide cols). Blocks are numbered row by row.
//
// A block with scale s and offset m holds integer codes q and means
//   asymmetric:  w ≈ q / s + m,   q in [0, 2^bits - 1],            m = block minimum
//   symmetric:   w ≈ q / s,       q in [-(2^(bits-1) - 1), 2^(bits-1) - 1]
// so s counts quantization levels per unit of w (one step is 1 / s).
//
// Codes are packed row by row as described in bit_packing.hpp: row r starts
// at byte r * row_bytes(). At 8 bits this is one byte per weight, row-major
// [rows, cols], unsigned (asymmetric) or int8 (symmetric).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "quant/bit_packing.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

struct QuantizedMatrix {
  QuantFormat format;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint8_t> codes;  // rows * row_bytes()
  std::vector<float> scales;        // block_count(), each finite and > 0
  std::vector<float> offsets;       // block_count() if asymmetric, else empty
  // Empty, or (asymmetric only) block_count() integer zero points: the code
  // whose level is exactly 0 (grids that contain 0, quant/grid.hpp). Then a
  // block means w = (q - z) / s, so code z dequantizes to exactly 0.0f, and
  // offsets[b] = -z / s rounded to float, what the kernels add.
  std::vector<std::uint8_t> zero_points;

  bool is_signed() const { return format.scheme == Scheme::symmetric; }
  std::size_t row_bytes() const { return packed_row_bytes(cols, format.bits); }
  std::span<const std::uint8_t> row_codes(std::size_t r) const {
    return std::span<const std::uint8_t>(codes).subspan(r * row_bytes(), row_bytes());
  }

  // Length of the runs a row is cut into (the last may be shorter): cols for
  // tensor and channel, group_size for group.
  std::size_t block_columns() const {
    return format.granularity == Granularity::group ? format.group_size : cols;
  }
  // Number of runs per row (at least 1, so an empty row still has its block).
  std::size_t runs_per_row() const {
    if (format.granularity != Granularity::group) return 1;
    return cols == 0 ? 1 : (cols + format.group_size - 1) / format.group_size;
  }
  std::size_t block_count() const {
    return format.granularity == Granularity::tensor ? 1 : rows * runs_per_row();
  }
  // The block that run `run` of row r belongs to.
  std::size_t block_index(std::size_t r, std::size_t run) const {
    return format.granularity == Granularity::tensor ? 0 : r * runs_per_row() + run;
  }

  // Bytes actually stored: packed codes plus scales and offsets.
  std::size_t storage_bytes() const {
    return codes.size() + (scales.size() + offsets.size()) * sizeof(float) + zero_points.size();
  }
};

}  // namespace tinyq
