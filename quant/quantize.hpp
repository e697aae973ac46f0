// Quantizing a float matrix to a QuantizedMatrix and back.
//
// quantize() validates the format and the weights (all finite), asks the
// rounder for codes and per-block grids (quant/rounding.hpp: round to
// nearest on min-max grids by default, quant/grid.hpp), stores each grid as
// a float scale and offset, and packs the codes (quant/bit_packing.hpp).
// dequantize() is the inverse for each block:
//   asymmetric  w = q / scale + offset      symmetric  w = q / scale
//   asymmetric with zero points  w = (q - z) / scale
// computed in double and rounded once to float. Zero points are stored when
// every block's grid has 0 as a level (zero-exact and search grids), so
// that the zero code comes back as exactly 0.0f.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/tensor.hpp"
#include "quant/grid.hpp"
#include "quant/quantized_matrix.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

// One block back to weights (the two schemes).
void dequantize_block_asymmetric(std::span<const std::int32_t> codes, BlockScale block,
                                 std::span<float> w);
// Asymmetric with an integer zero point z: w = (q - z) / scale.
void dequantize_block_zero_point(std::span<const std::int32_t> codes, float scale,
                                 std::int32_t zero_point, std::span<float> w);
void dequantize_block_symmetric(std::span<const std::int32_t> codes, BlockScale block,
                                std::span<float> w);

// w: [rows, cols] row-major. column_importance: empty, or one value >= 0 per
// column handed to the rounder (quant/rounding.hpp). Throws tinyq::Error for
// an invalid format, or for a NaN or infinite weight, naming `name` and the
// weight's [row, col].
QuantizedMatrix quantize(std::span<const float> w, std::size_t rows, std::size_t cols,
                         const QuantFormat& format, std::string_view name = "tensor",
                         const GridChooser& choose_grid = ignoring_importance(minmax_grid),
                         const Rounder& round = round_to_nearest,
                         std::span<const float> column_importance = {});
// A rank-2 tensor, a rank-1 tensor (one row) or an empty tensor (0 x 0).
QuantizedMatrix quantize(const Tensor& w, const QuantFormat& format,
                         std::string_view name = "tensor",
                         const GridChooser& choose_grid = ignoring_importance(minmax_grid),
                         const Rounder& round = round_to_nearest);

// The weights the codes stand for, as a [rows, cols] tensor.
Tensor dequantize(const QuantizedMatrix& q);

// Throws tinyq::Error (prefixed by `where`) unless q is self-consistent: a
// valid format, array sizes that match rows and cols, finite positive scales,
// finite offsets, codes in range and zero padding bits. Run on every matrix
// built from outside data (model files) before it is used.
void check_consistent(const QuantizedMatrix& q, std::string_view where);

}  // namespace tinyq
