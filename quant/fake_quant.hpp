// Fake quantization of a weight matrix: the weights rounded to their grids
// and turned back into floats, for training through the quantizer (QAT).
//
// Each block (QuantizedMatrix's layout) gets a grid, each weight the code
//   q = clamp(round(v), lowest, highest),   v = (w - offset) · levels / range
// exactly as quant/rounding.hpp's nearest_code computes it, and the float
// w_q = q / scale (+ offset) exactly as dequantize computes it from the
// stored float scale. So a layer trained on w_q holds, once exported, the
// very codes and scales it was trained with.
//
// The straight-through estimator (STE, Bengio et al. 2013) treats round()
// as the identity in the backward pass:
//   dL/dw = dL/dw_q   where round(v) lies inside [lowest, highest]
//   dL/dw = 0         where the weight is clipped to an end level
// Learned step sizes (LSQ, Esser et al. 2019) make the step s = range/levels
// (and, asymmetric, the offset o) parameters too. With w_q = s·q + o:
//   dw_q/ds = q - v  inside,   q (the end level) where clipped
//   dw_q/do = 0      inside,   1 where clipped
// each block's sums scaled by g = 1 / sqrt(N · Q_P) (N weights in the block,
// Q_P the highest code), which keeps the step's updates in proportion to
// the weights' (LSQ, section 2.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "quant/grid.hpp"
#include "quant/quantized_matrix.hpp"

namespace tinyq {

// The grid of block `index`, given its weights.
using BlockGridFunction = std::function<BlockGrid(std::span<const float> block, std::size_t index)>;

struct FakeQuantized {
  std::vector<std::int16_t> codes;   // rows · cols
  std::vector<BlockGrid> grids;      // one per block
  std::vector<std::uint8_t> inside;  // 1 where the gradient passes (not clipped), else 0
};

// w and w_q: [rows, cols] row-major, as `layout` (rows, cols, format) says.
// `grid_of` is called once per block, from several threads at once.
// Results do not depend on the thread count.
void fake_quantize(std::span<const float> w, const QuantizedMatrix& layout,
                   const BlockGridFunction& grid_of, FakeQuantized& out, std::span<float> w_q);

// STE: grad_w = grad_wq where inside, else 0.
void straight_through(std::span<const float> grad_wq, const FakeQuantized& fq,
                      std::span<float> grad_w);

// LSQ's gradients of one step per block (and one offset per block when
// grad_offset is not empty), scaled by 1 / sqrt(N · Q_P), and in the same
// pass the STE's grad_w, as straight_through gives it.
void learned_scale_gradients(std::span<const float> w, std::span<const float> grad_wq,
                             const QuantizedMatrix& layout, const FakeQuantized& fq,
                             std::span<float> grad_w, std::span<float> grad_step,
                             std::span<float> grad_offset);

}  // namespace tinyq
