// How much quantization changed a model: per layer, the weight error and the
// bytes saved.
//
// For original weights w and dequantized weights ŵ (n of them):
//   max error   max |w - ŵ|
//   RMS error   sqrt(Σ (w - ŵ)² / n)
//   SQNR        10 · log10(Σ w² / Σ (w - ŵ)²) dB, signal over quantization noise.
// When the weights come back exactly (Σ (w - ŵ)² = 0, which includes an empty
// tensor) SQNR is +infinity: no noise at all. format_report prints it as "exact".
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "nn/sequential.hpp"

namespace tinyq {

struct ErrorStats {
  double max_abs_error = 0.0;
  double rms_error = 0.0;
  double sqnr_db = 0.0;  // +infinity when exact
  // The sums behind them, so that layers can be pooled (total_weight_error).
  double squared_error = 0.0;   // Σ (w - ŵ)²
  double squared_signal = 0.0;  // Σ w²
  std::size_t count = 0;        // n
};

// original and approx must have the same length.
ErrorStats measure_error(std::span<const float> original, std::span<const float> approx);

struct LayerReport {
  std::size_t index = 0;  // position in the model
  std::string layer;      // the quantized layer's describe()
  ErrorStats weight_error;
  std::size_t float_bytes = 0;      // float weights + bias
  std::size_t quantized_bytes = 0;  // packed codes + scales/offsets + float bias
};

// One entry per layer that is quantized in quantized_model (layers kept in
// float are skipped): its weights as they come back (Layer::float_state)
// against the "weight" of the layer at the same index of float_model.
// Throws tinyq::Error if the two models do not have the same number of layers
// or a quantized layer's weight does not match its original's shape.
std::vector<LayerReport> quantization_report(const Sequential& float_model,
                                             const Sequential& quantized_model);

// The error over every quantized weight of the report's layers together
// (max, RMS and SQNR of the pooled weights).
ErrorStats total_weight_error(const std::vector<LayerReport>& reports);

// A fixed-width text table, one line per layer plus a total line.
std::string format_report(const std::vector<LayerReport>& reports);

}  // namespace tinyq
