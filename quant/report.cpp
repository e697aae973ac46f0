// Error and size measurements for quantized layers.
#include "quant/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.hpp"
#include "quant/registry.hpp"

namespace tinyq {

namespace {

// RMS and SQNR from the sums.
void finish(ErrorStats& stats) {
  stats.rms_error =
      stats.count ? std::sqrt(stats.squared_error / static_cast<double>(stats.count)) : 0.0;
  stats.sqnr_db = stats.squared_error == 0.0
                      ? std::numeric_limits<double>::infinity()
                      : 10.0 * std::log10(stats.squared_signal / stats.squared_error);
}

const StateTensor& weight_of(const StateDict& state, const std::string& where) {
  const StateTensor* weight = state.find("weight");
  if (!weight || weight->dtype != Dtype::f32)
    throw Error("quantization_report: " + where + " has no float \"weight\"");
  return *weight;
}

}  // namespace

ErrorStats measure_error(std::span<const float> original, std::span<const float> approx) {
  if (original.size() != approx.size())
    throw Error("measure_error: " + std::to_string(original.size()) + " original values but " +
                std::to_string(approx.size()) + " approximations");
  ErrorStats stats;
  for (std::size_t i = 0; i < original.size(); ++i) {
    const double w = original[i];
    const double e = w - approx[i];
    stats.max_abs_error = std::max(stats.max_abs_error, std::fabs(e));
    stats.squared_signal += w * w;
    stats.squared_error += e * e;
  }
  stats.count = original.size();
  finish(stats);
  return stats;
}

std::vector<LayerReport> quantization_report(const Sequential& float_model,
                                             const Sequential& quantized_model,
                                             const Tensor& calibration) {
  if (float_model.size() != quantized_model.size())
    throw Error("quantization_report: float model has " + std::to_string(float_model.size()) +
                " layers, quantized model " + std::to_string(quantized_model.size()));
  const bool calibrated = calibration.size() != 0;
  if (calibrated) {
    const auto width = quantized_model.input_features();
    if (calibration.rank() != 2 || (width && calibration.dim(1) != *width))
      throw Error("quantization_report: calibration inputs must be [samples, " +
                  (width ? std::to_string(*width) : std::string("inputs")) + "], found " +
                  calibration.shape().to_string());
  }
  // Layers run forward on copies: forward caches, and the models are const.
  Sequential float_copy = calibrated ? float_model : Sequential();
  Sequential quantized_copy = calibrated ? quantized_model : Sequential();
  Tensor inputs = calibration;  // what reaches layer i through quantized layers 0..i-1
  std::vector<LayerReport> reports;
  for (std::size_t i = 0; i < float_model.size(); ++i) {
    const Layer& original = float_model.layer(i);
    const Layer& quantized = quantized_model.layer(i);
    Tensor next;
    if (calibrated) next = quantized_copy.layer(i).forward(inputs);
    if (!is_quantized(quantized) || is_quantized(original)) {
      inputs = std::move(next);
      continue;
    }
    const std::string where = "layer " + std::to_string(i);
    const StateDict float_state = original.state();
    const StateDict restored_state = quantized.float_state();
    const StateTensor& w = weight_of(float_state, where + " of the float model");
    const StateTensor& restored = weight_of(restored_state, where + " of the quantized model");
    if (w.shape != restored.shape)
      throw Error("quantization_report: " + where + " weight is " + shape_to_string(w.shape) +
                  " in the float model and " + shape_to_string(restored.shape) + " quantized");
    LayerReport report;
    report.index = i;
    report.layer = quantized.describe();
    report.weight_error = measure_error(w.floats(), restored.floats());
    report.float_bytes = float_state.tensor_bytes();
    report.quantized_bytes = quantized.state().tensor_bytes();
    if (calibrated) {
      const Tensor& exact = float_copy.layer(i).forward(inputs);
      report.output_error = measure_error(exact.values(), next.values());
      report.has_output_error = true;
    }
    reports.push_back(report);
    inputs = std::move(next);
  }
  return reports;
}

namespace {

void pool(ErrorStats& total, const ErrorStats& part) {
  total.max_abs_error = std::max(total.max_abs_error, part.max_abs_error);
  total.squared_error += part.squared_error;
  total.squared_signal += part.squared_signal;
  total.count += part.count;
}

}  // namespace

ErrorStats total_weight_error(const std::vector<LayerReport>& reports) {
  ErrorStats total;
  for (const LayerReport& r : reports) pool(total, r.weight_error);
  finish(total);
  return total;
}

ErrorStats total_output_error(const std::vector<LayerReport>& reports) {
  ErrorStats total;
  for (const LayerReport& r : reports)
    if (r.has_output_error) pool(total, r.output_error);
  finish(total);
  return total;
}

namespace {

std::string format_sqnr(double db) {
  if (std::isinf(db) && db > 0) return "exact";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f dB", db);
  return text;
}

}  // namespace

std::string format_report(const std::vector<LayerReport>& reports) {
  const bool outputs = std::any_of(reports.begin(), reports.end(),
                                   [](const LayerReport& r) { return r.has_output_error; });
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-5s %-50s %12s %12s %10s %10s %10s %6s%s\n", "layer",
                "quantized as", "max error", "RMS error", "SQNR", "float B", "quant B", "ratio",
                outputs ? "  output SQNR" : "");
  out += line;
  std::size_t float_total = 0;
  std::size_t quantized_total = 0;
  for (const LayerReport& r : reports) {
    char output_sqnr[32] = "";
    if (r.has_output_error)
      std::snprintf(output_sqnr, sizeof output_sqnr, "  %11s",
                    format_sqnr(r.output_error.sqnr_db).c_str());
    std::snprintf(line, sizeof line, "%-5zu %-50s %12.3g %12.3g %10s %10zu %10zu %6.3f%s\n",
                  r.index, r.layer.c_str(), r.weight_error.max_abs_error, r.weight_error.rms_error,
                  format_sqnr(r.weight_error.sqnr_db).c_str(), r.float_bytes, r.quantized_bytes,
                  r.float_bytes == 0
                      ? 1.0
                      : static_cast<double>(r.quantized_bytes) / static_cast<double>(r.float_bytes),
                  output_sqnr);
    out += line;
    float_total += r.float_bytes;
    quantized_total += r.quantized_bytes;
  }
  std::snprintf(line, sizeof line, "%-5s %-50s %12s %12s %10s %10zu %10zu %6.3f\n", "total", "", "",
                "", "", float_total, quantized_total,
                float_total == 0
                    ? 1.0
                    : static_cast<double>(quantized_total) / static_cast<double>(float_total));
  out += line;
  return out;
}

}  // namespace tinyq
