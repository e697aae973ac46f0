// Error and size measurements for quantized layers.
#include "quant/report.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.hpp"
#include "nn/dense.hpp"
#include "quant/quantize.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

ErrorStats measure_error(std::span<const float> original, std::span<const float> approx) {
  if (original.size() != approx.size())
    throw Error("measure_error: " + std::to_string(original.size()) + " original values but " +
                std::to_string(approx.size()) + " approximations");
  ErrorStats stats;
  double signal = 0.0;
  double noise = 0.0;
  for (std::size_t i = 0; i < original.size(); ++i) {
    const double w = original[i];
    const double e = w - approx[i];
    stats.max_abs_error = std::max(stats.max_abs_error, std::fabs(e));
    signal += w * w;
    noise += e * e;
  }
  if (!original.empty()) stats.rms_error = std::sqrt(noise / static_cast<double>(original.size()));
  stats.sqnr_db =
      noise == 0.0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(signal / noise);
  return stats;
}

std::vector<LayerReport> quantization_report(const Sequential& float_model,
                                             const Sequential& quantized_model) {
  if (float_model.size() != quantized_model.size())
    throw Error("quantization_report: float model has " + std::to_string(float_model.size()) +
                " layers, quantized model " + std::to_string(quantized_model.size()));
  std::vector<LayerReport> reports;
  for (std::size_t i = 0; i < float_model.size(); ++i) {
    const auto* dense = dynamic_cast<const Dense*>(&float_model.layer(i));
    const auto* quantized = dynamic_cast<const QuantizedDense*>(&quantized_model.layer(i));
    if (dense == nullptr || quantized == nullptr) continue;
    const Tensor restored = dequantize(quantized->weight());
    LayerReport report;
    report.index = i;
    report.layer = quantized->describe();
    report.weight_error = measure_error(dense->weight().values(), restored.values());
    report.float_bytes = (dense->weight().size() + dense->bias().size()) * sizeof(float);
    report.quantized_bytes = quantized->storage_bytes();
    reports.push_back(report);
  }
  return reports;
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
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-5s %-50s %12s %12s %10s %10s %10s %6s\n", "layer",
                "quantized as", "max error", "RMS error", "SQNR", "float B", "quant B", "ratio");
  out += line;
  std::size_t float_total = 0;
  std::size_t quantized_total = 0;
  for (const LayerReport& r : reports) {
    std::snprintf(line, sizeof line, "%-5zu %-50s %12.3g %12.3g %10s %10zu %10zu %6.3f\n", r.index,
                  r.layer.c_str(), r.weight_error.max_abs_error, r.weight_error.rms_error,
                  format_sqnr(r.weight_error.sqnr_db).c_str(), r.float_bytes, r.quantized_bytes,
                  r.float_bytes == 0 ? 1.0
                                     : static_cast<double>(r.quantized_bytes) /
                                           static_cast<double>(r.float_bytes));
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
