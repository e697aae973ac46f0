// to_signed_weights: unpack, shift to int8, fold the shift into the offset.
#include "quant/signed_weights.hpp"

#include <span>

#include "quant/bit_packing.hpp"

namespace tinyq {

SignedWeights to_signed_weights(const QuantizedMatrix& weight) {
  SignedWeights w;
  w.rows = weight.rows;
  w.cols = weight.cols;
  w.runs = weight.runs_per_row();
  w.run_length = weight.block_columns();
  w.codes.resize(w.rows * w.cols);
  w.steps.resize(w.rows * w.runs);
  w.offsets.resize(w.rows * w.runs);
  w.code_sums.resize(w.rows * w.runs);
  const bool is_signed = weight.is_signed();
  const std::int32_t shift = is_signed ? 0 : 128;
  std::vector<std::int32_t> row(w.cols);
  for (std::size_t j = 0; j < w.rows; ++j) {
    weight.unpack_row(j, std::span(row));
    for (std::size_t g = 0; g < w.runs; ++g) {
      const std::size_t block = weight.block_index(j, g);
      const float step = 1.0f / weight.scales[block];
      const float offset = is_signed ? 0.0f : weight.offsets[block];
      std::int32_t sum = 0;
      for (std::size_t i = w.run_begin(g); i < w.run_end(g); ++i) {
        const std::int32_t c = row[i] - shift;
        w.codes[j * w.cols + i] = static_cast<std::int8_t>(c);
        sum += c;
      }
      w.steps[g * w.rows + j] = step;
      w.offsets[g * w.rows + j] = offset + static_cast<float>(shift) * step;
      w.code_sums[g * w.rows + j] = sum;
    }
  }
  return w;
}

}  // namespace tinyq
