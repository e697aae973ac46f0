// Block quantizers for the two schemes, and the per-granularity drivers.
#include "quant/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tinyq {

namespace {

constexpr double largest_float = std::numeric_limits<float>::max();

std::int32_t round_half_away(double v) {
  return static_cast<std::int32_t>(std::round(v));
}

// levels / range as a float scale. A range so tiny that the scale would
// overflow float is treated like a zero range: every weight rounds to the
// offset, and the error is at most that tiny range.
bool usable_scale(double levels, double range) {
  return range > 0.0 && levels / range <= largest_float;
}

}  // namespace

BlockScale quantize_block_asymmetric(std::span<const float> w, int bits,
                                     std::span<std::int32_t> codes) {
  if (w.empty()) return {};
  const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
  const double min = *lo;
  const double range = static_cast<double>(*hi) - min;
  const double levels = (1 << bits) - 1;
  if (!usable_scale(levels, range)) {
    std::fill(codes.begin(), codes.end(), 0);
    return {1.0f, static_cast<float>(min)};
  }
  // (w - min) * levels / range rather than (w - min) * scale: with the
  // division last, [400, 500, 600] gives exactly 127.5 for 500, not 127.4999...
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double level = (static_cast<double>(w[i]) - min) * levels / range;
    codes[i] = std::clamp(round_half_away(level), 0, static_cast<std::int32_t>(levels));
  }
  return {static_cast<float>(levels / range), static_cast<float>(min)};
}

void dequantize_block_asymmetric(std::span<const std::int32_t> codes, BlockScale block,
                                 std::span<float> w) {
  for (std::size_t i = 0; i < codes.size(); ++i)
    w[i] = static_cast<float>(codes[i] / static_cast<double>(block.scale) + block.offset);
}

BlockScale quantize_block_symmetric(std::span<const float> w, int bits,
                                    std::span<std::int32_t> codes) {
  double max_abs = 0.0;
  for (const float v : w) max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
  const auto levels = static_cast<std::int32_t>((1 << (bits - 1)) - 1);
  if (!usable_scale(levels, max_abs)) {
    std::fill(codes.begin(), codes.end(), 0);
    return {};
  }
  for (std::size_t i = 0; i < w.size(); ++i)
    codes[i] =
        std::clamp(round_half_away(w[i] * static_cast<double>(levels) / max_abs), -levels, levels);
  return {static_cast<float>(levels / max_abs), 0.0f};
}

void dequantize_block_symmetric(std::span<const std::int32_t> codes, BlockScale block,
                                std::span<float> w) {
  for (std::size_t i = 0; i < codes.size(); ++i)
    w[i] = static_cast<float>(codes[i] / static_cast<double>(block.scale));
}

QuantizedMatrix quantize(std::span<const float> w, std::size_t rows, std::size_t cols,
                         const QuantFormat& format, std::string_view name) {
  validate(format);
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
  q.scales.resize(q.block_count());
  if (format.scheme == Scheme::asymmetric) q.offsets.resize(q.block_count());

  // Blocks are contiguous runs of w, so each is quantized in place in `codes`.
  std::vector<std::int32_t> codes(w.size());
  const auto quantize_run = [&](std::size_t begin, std::size_t length, std::size_t block) {
    const auto run = w.subspan(begin, length);
    const auto out = std::span(codes).subspan(begin, length);
    const BlockScale s = format.scheme == Scheme::asymmetric
                             ? quantize_block_asymmetric(run, format.bits, out)
                             : quantize_block_symmetric(run, format.bits, out);
    q.scales[block] = s.scale;
    if (format.scheme == Scheme::asymmetric) q.offsets[block] = s.offset;
  };
  if (format.granularity == Granularity::tensor) {
    quantize_run(0, w.size(), 0);
  } else {
    const std::size_t step = q.block_columns();
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t run = 0; run < q.runs_per_row(); ++run) {
        const std::size_t begin = run * step;
        quantize_run(r * cols + begin, std::min(step, cols - std::min(cols, begin)),
                     q.block_index(r, run));
      }
  }

  q.codes.resize(rows * q.row_bytes());
  for (std::size_t r = 0; r < rows; ++r)
    pack_codes(std::span(codes).subspan(r * cols, cols), format.bits, q.is_signed(),
               std::span(q.codes).subspan(r * q.row_bytes(), q.row_bytes()));
  return q;
}

QuantizedMatrix quantize(const Tensor& w, const QuantFormat& format, std::string_view name) {
  if (w.rank() == 0) return quantize(w.values(), 0, 0, format, name);
  if (w.rank() == 1) return quantize(w.values(), 1, w.dim(0), format, name);
  w.require_rank(2, "quantize");
  return quantize(w.values(), w.dim(0), w.dim(1), format, name);
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
      if (q.format.scheme == Scheme::asymmetric)
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
