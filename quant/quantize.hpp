// Quantizing a float matrix to a QuantizedMatrix and back.
//
// As in ggml, each scheme is one pair of functions working on one block of
// weights (quantize_block_* / dequantize_block_*); quantize and dequantize
// cut a matrix into blocks for the chosen granularity and dispatch.
//
// Rounding is half away from zero (127.5 -> 128). Codes are computed in
// double from the block's exact range, so a value exactly halfway between two
// levels rounds the same way on every machine; scales are then stored as
// float. A block whose range is zero (constant, or all zeros for symmetric)
// gets scale 1 and codes 0, so it comes back exactly, with no division by zero.
// (A symmetric block holding one nonzero constant c is not degenerate: c sits
// on the top level and comes back as qmax / scale, equal to c up to float
// rounding.)
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/tensor.hpp"
#include "quant/quantized_matrix.hpp"

namespace tinyq {

struct BlockScale {
  float scale = 1.0f;   // levels per unit of w
  float offset = 0.0f;  // block minimum (asymmetric); 0 for symmetric
};

// w ≈ q / scale + min, q in [0, 2^bits - 1].
BlockScale quantize_block_asymmetric(std::span<const float> w, int bits,
                                     std::span<std::int32_t> codes);
void dequantize_block_asymmetric(std::span<const std::int32_t> codes, BlockScale block,
                                 std::span<float> w);

// w ≈ q / scale, q in [-(2^(bits-1) - 1), 2^(bits-1) - 1].
BlockScale quantize_block_symmetric(std::span<const float> w, int bits,
                                    std::span<std::int32_t> codes);
void dequantize_block_symmetric(std::span<const std::int32_t> codes, BlockScale block,
                                std::span<float> w);

// w: [rows, cols] row-major. Throws tinyq::Error for an invalid format, or for
// a NaN or infinite weight, naming `name` and the weight's [row, col].
QuantizedMatrix quantize(std::span<const float> w, std::size_t rows, std::size_t cols,
                         const QuantFormat& format, std::string_view name = "tensor");
// A rank-2 tensor, a rank-1 tensor (one row) or an empty tensor (0 x 0).
QuantizedMatrix quantize(const Tensor& w, const QuantFormat& format,
                         std::string_view name = "tensor");

// The weights the codes stand for, as a [rows, cols] tensor.
Tensor dequantize(const QuantizedMatrix& q);

// Throws tinyq::Error (prefixed by `where`) unless q is self-consistent: a
// valid format, array sizes that match rows and cols, finite positive scales,
// finite offsets, codes in range and zero padding bits. Run on every matrix
// built from outside data (model files) before it is used.
void check_consistent(const QuantizedMatrix& q, std::string_view where);

}  // namespace tinyq
