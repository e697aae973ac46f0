// Any QuantizedMatrix rewritten as signed 8-bit codes with a step and an
// offset per run: the one form the integer kernels need.
//
// A block with scale s and offset m means w = q / s + m. Unsigned codes
// (asymmetric, q in [0, 2^bits - 1] <= 255) are shifted into int8:
//   w = (q - 128) / s + (m + 128 / s)  =  c · step + offset,  c = q - 128
// Signed codes (symmetric) are int8 already: c = q, step = 1 / s, offset = 0.
// Every row is cut into the same runs (QuantizedMatrix::runs_per_row), and
// step, offset and Σc are stored per (row, run), also for tensor granularity,
// so the kernels never ask which granularity they run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quant/quantized_matrix.hpp"

namespace tinyq {

struct SignedWeights {
  std::size_t rows = 0, cols = 0;
  std::size_t runs = 1;            // runs per row
  std::size_t run_length = 0;      // inputs per run (the last may be shorter)
  std::vector<std::int8_t> codes;  // [rows, cols]
  // Per run and row, run-major ([runs, rows]) so that a kernel finishing
  // run g reads them for consecutive outputs j from consecutive addresses.
  std::vector<float> steps;
  std::vector<float> offsets;
  std::vector<std::int32_t> code_sums;  // Σ c over the run

  std::size_t run_begin(std::size_t g) const { return g * run_length; }
  std::size_t run_end(std::size_t g) const { return g + 1 == runs ? cols : (g + 1) * run_length; }
};

SignedWeights to_signed_weights(const QuantizedMatrix& weight);

}  // namespace tinyq
