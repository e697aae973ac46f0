// How much quantization changed a model: per layer, the weight error and the
// bytes saved.
//
// For original weights w and dequantized weights ŵ (n of them):
//   max error   max |w - ŵ|
//   RMS error   sqrt(Σ (w - ŵ)² / n)
//   SQNR        10 · log10(Σ w² / Σ (w - ŵ)²) dB, signal over quantization noise.
// When the weights come back exactly (Σ (w - ŵ)² = 0, which includes an empty
// tensor) SQNR is +infinity: no noise at all. format_report prints it as "exact".
//
// Weight error is blind to the data: an error on a weight whose input is
// always 0 costs nothing, one on a busy input costs a lot, and errors within a
// row may cancel or add up in its output (what GPTQ exploits). So, given
// calibration inputs, the report also measures each layer's output error: for
// the inputs X that reach layer i through the quantized layers before it,
// the same statistics of Y = X·Wᵀ + b against Ŷ = X·Ŵᵀ + b, both computed
// from those same X, so that only layer i's own rounding is measured.
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
  bool has_output_error = false;    // set when calibration inputs were given
  ErrorStats output_error;          // of the layer's outputs on them (count = samples · outputs)
  std::size_t float_bytes = 0;      // float weights + bias
  std::size_t quantized_bytes = 0;  // packed codes + scales/offsets + float bias
};

// One entry per layer that is quantized in quantized_model (layers kept in
// float are skipped): its weights as they come back (Layer::float_state)
// against the "weight" of the layer at the same index of float_model.
// With calibration inputs ([samples, model inputs]; empty for none) each
// entry also has its output error. Throws tinyq::Error if the two models do
// not have the same number of layers, a quantized layer's weight does not
// match its original's shape, or the calibration width does not fit.
std::vector<LayerReport> quantization_report(const Sequential& float_model,
                                             const Sequential& quantized_model,
                                             const Tensor& calibration = Tensor());

// The error over every quantized weight of the report's layers together
// (max, RMS and SQNR of the pooled weights).
ErrorStats total_weight_error(const std::vector<LayerReport>& reports);

// The output error pooled over the layers that have one (count 0 when none).
ErrorStats total_output_error(const std::vector<LayerReport>& reports);

// A fixed-width text table, one line per layer plus a total line (with an
// output SQNR column when the reports have output errors).
std::string format_report(const std::vector<LayerReport>& reports);

}  // namespace tinyq
