// Quantizing a matrix (grid, rounding, packing), dequantizing it, and checking
// a stored one.
#include "quant/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tinyq {

void dequantize_block_asymmetric(std::span<const std::int32_t> codes, BlockScale block,
                                 std::span<float> w) {
  for (std::size_t i = 0; i < codes.size(); ++i)
    w[i] = static_cast<float>(codes[i] / static_cast<double>(block.scale) + block.offset);
}

void dequantize_block_zero_point(std::span<const std::int32_t> codes, float scale,
                                 std::int32_t zero_point, std::span<float> w) {
  for (std::size_t i = 0; i < codes.size(); ++i)
    w[i] = static_cast<float>((codes[i] - zero_point) / static_cast<double>(scale));
}

void dequantize_block_symmetric(std::span<const std::int32_t> codes, BlockScale block,
                                std::span<float> w) {
  for (std::size_t i = 0; i < codes.size(); ++i)
    w[i] = static_cast<float>(codes[i] / static_cast<double>(block.scale));
}

QuantizedMatrix quantize(std::span<const float> w, std::size_t rows, std::size_t cols,
                         const QuantFormat& format, std::string_view name,
                         const GridChooser& choose_grid, const Rounder& round,
                         std::span<const float> column_importance) {
  validate(format);
  if (!column_importance.empty() && column_importance.size() != cols)
    throw Error("quantize " + std::string(name) + ": expected " + std::to_string(cols) +
                " column importances, found " + std::to_string(column_importance.size()));
  if (w.size() != rows * cols)
    throw Error("quantize " + std::string(name) + ": " + std::to_string(rows) + " x " +
                std::to_string(cols) + " matrix needs " + std::to_string(rows * cols) +
                " values, found " + std::to_string(w.size()));
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!std::isfinite(w[i]))
      throw Error("quantize " + std::string(name) + ": weight [" + std::to_string(i / cols) + ", " +
                  std::to_string(i % cols) + "] is " + (std::isnan(w[i]) ? "NaN" : "infinite") +
                  "; only finite weights can be quantized");

  QuantizedMatrix q;
  q.format = format;
  if (format.granularity != Granularity::group) q.format.group_size = 0;
  q.rows = rows;
  q.cols = cols;
  const RoundedMatrix rounded = round(w, q, choose_grid, column_importance);
  q.scales.resize(q.block_count());
  if (format.scheme == Scheme::asymmetric) q.offsets.resize(q.block_count());
  for (std::size_t b = 0; b < q.block_count(); ++b) {
    const BlockScale stored = rounded.grids[b].stored();
    q.scales[b] = stored.scale;
    if (format.scheme == Scheme::asymmetric) q.offsets[b] = stored.offset;
  }
  // Integer zero points when every block's grid has 0 as a level exactly.
  bool zero_levels = format.scheme == Scheme::asymmetric && !rounded.grids.empty();
  for (const BlockGrid& g : rounded.grids) {
    if (!zero_levels) break;
    const double z = g.usable() ? std::round(-g.offset * g.levels / g.range) : 0.0;
    zero_levels = g.usable() && z >= 0 && z <= g.levels && g.offset + z * g.range / g.levels == 0.0;
  }
  if (zero_levels) {
    q.zero_points.resize(q.block_count());
    for (std::size_t b = 0; b < q.block_count(); ++b) {
      const BlockGrid& g = rounded.grids[b];
      q.zero_points[b] = static_cast<std::uint8_t>(std::round(-g.offset * g.levels / g.range));
      q.offsets[b] = static_cast<float>(-q.zero_points[b] / static_cast<double>(q.scales[b]));
    }
  }
  const std::vector<std::int32_t>& codes = rounded.codes;
  q.codes.resize(rows * q.row_bytes());
  for (std::size_t r = 0; r < rows; ++r)
    pack_codes(std::span(codes).subspan(r * cols, cols), format.bits, q.is_signed(),
               std::span(q.codes).subspan(r * q.row_bytes(), q.row_bytes()));
  return q;
}

QuantizedMatrix quantize(const Tensor& w, const QuantFormat& format, std::string_view name,
                         const GridChooser& choose_grid, const Rounder& round) {
  if (w.rank() == 0) return quantize(w.values(), 0, 0, format, name, choose_grid, round);
  if (w.rank() == 1) return quantize(w.values(), 1, w.dim(0), format, name, choose_grid, round);
  w.require_rank(2, "quantize");
  return quantize(w.values(), w.dim(0), w.dim(1), format, name, choose_grid, round);
}

Tensor dequantize(const QuantizedMatrix& q) {
  Tensor w(Shape{q.rows, q.cols});
  std::vector<std::int32_t> codes(q.cols);
  const std::size_t step = q.block_columns();
  for (std::size_t r = 0; r < q.rows; ++r) {
    unpack_codes(q.row_codes(r), q.format.bits, q.is_signed(), std::span(codes));
    for (std::size_t begin = 0, run = 0; begin < q.cols; begin += step, ++run) {
      const std::size_t length = std::min(step, q.cols - begin);
      const std::size_t block = q.block_index(r, run);
      const auto in = std::span<const std::int32_t>(codes).subspan(begin, length);
      const auto out = w.row(r).subspan(begin, length);
      if (!q.zero_points.empty())
        dequantize_block_zero_point(in, q.scales[block], q.zero_points[block], out);
      else if (q.format.scheme == Scheme::asymmetric)
        dequantize_block_asymmetric(in, {q.scales[block], q.offsets[block]}, out);
      else
        dequantize_block_symmetric(in, {q.scales[block], 0.0f}, out);
    }
  }
  return w;
}

void check_consistent(const QuantizedMatrix& q, std::string_view where) {
  const std::string at(where);
  try {
    validate(q.format);
  } catch (const Error& e) {
    throw Error(at + ": " + e.what());
  }
  if (q.format.granularity != Granularity::group && q.format.group_size != 0)
    throw Error(at + ": group size must be 0 unless granularity is group, found " +
                std::to_string(q.format.group_size));
  if (q.codes.size() != q.rows * q.row_bytes())
    throw Error(at + ": expected " + std::to_string(q.rows * q.row_bytes()) +
                " bytes of codes, found " + std::to_string(q.codes.size()));
  const std::size_t offsets = q.format.scheme == Scheme::asymmetric ? q.block_count() : 0;
  if (q.scales.size() != q.block_count() || q.offsets.size() != offsets)
    throw Error(at + ": expected " + std::to_string(q.block_count()) + " scales and " +
                std::to_string(offsets) + " offsets, found " + std::to_string(q.scales.size()) +
                " and " + std::to_string(q.offsets.size()));
  for (std::size_t b = 0; b < q.scales.size(); ++b)
    if (!(std::isfinite(q.scales[b]) && q.scales[b] > 0.0f))
      throw Error(at + ": scale " + std::to_string(b) + " must be finite and positive, found " +
                  std::to_string(q.scales[b]));
  for (std::size_t b = 0; b < q.offsets.size(); ++b)
    if (!std::isfinite(q.offsets[b]))
      throw Error(at + ": offset " + std::to_string(b) + " is not finite");
  if (!q.zero_points.empty()) {
    if (q.format.scheme != Scheme::asymmetric || q.zero_points.size() != q.block_count())
      throw Error(at + ": expected " + std::to_string(offsets) + " zero points, found " +
                  std::to_string(q.zero_points.size()));
    const int top = (1 << q.format.bits) - 1;
    for (std::size_t b = 0; b < q.zero_points.size(); ++b) {
      if (q.zero_points[b] > top)
        throw Error(at + ": zero point " + std::to_string(b) + " is " +
                    std::to_string(q.zero_points[b]) + ", above the top code " +
                    std::to_string(top));
      // The kernels add the offset; it must be the one the zero point implies.
      if (q.offsets[b] != static_cast<float>(-q.zero_points[b] / static_cast<double>(q.scales[b])))
        throw Error(at + ": offset " + std::to_string(b) + " is not -zero point / scale");
    }
  }

  const std::size_t used_bits = q.cols * static_cast<std::size_t>(q.format.bits) % 8;
  const auto padding_mask = static_cast<std::uint8_t>(used_bits == 0 ? 0 : 0xFFu << used_bits);
  const std::int32_t lowest_signed = -((1 << (q.format.bits - 1)) - 1);
  std::vector<std::int32_t> codes(q.cols);
  for (std::size_t r = 0; r < q.rows; ++r) {
    const auto row = q.row_codes(r);
    if (!row.empty() && (row.back() & padding_mask) != 0)
      throw Error(at + ": row " + std::to_string(r) + " has nonzero padding bits");
    if (!q.is_signed()) continue;
    unpack_codes(row, q.format.bits, true, std::span(codes));
    for (std::size_t c = 0; c < q.cols; ++c)
      if (codes[c] < lowest_signed)
        throw Error(at + ": code " + std::to_string(codes[c]) + " at [" + std::to_string(r) + ", " +
                    std::to_string(c) + "] is below the symmetric range minimum " +
                    std::to_string(lowest_signed));
  }
}

}  // namespace tinyq
