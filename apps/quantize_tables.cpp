#include "apps/quantize_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "quant/quantized_dense.hpp"

namespace tinyq {

std::string granularity_text(const QuantFormat& format) {
  return format.granularity == Granularity::group ? "group-" + std::to_string(format.group_size)
                                                  : to_string(format.granularity);
}

Row format_row(const QuantFormat& format, const ModelScore& score) {
  Row row;
  row.scheme = to_string(format.scheme);
  row.granularity = granularity_text(format);
  row.bits = format.bits;
  row.group_size = format.granularity == Granularity::group ? format.group_size : 0;
  row.score = score;
  return row;
}

// The method column fits its longest label (at least 20 characters), so
// labels with options ("gptq/zero-exact, act-order, refits 3") keep the
// columns after them aligned.
int method_width(const std::vector<std::string>& labels) {
  std::size_t width = 20;
  for (const std::string& label : labels) width = std::max(width, label.size());
  return static_cast<int>(width);
}

void print_table(const std::optional<Row>& float_row, const std::vector<Row>& rows) {
  std::vector<std::string> labels;
  for (const Row& row : rows)
    if (row.error) labels.push_back(row.method.label());
  const int width = method_width(labels);
  std::printf("%-11s %-12s %-*s %4s  %8s  %7s  %9s  %6s  %10s  %7s  %9s  %11s\n", "scheme",
              "granularity", width, "method", "bits", "accuracy", "change", "bytes", "ratio",
              "weight RMS", "SQNR", "out SQNR", "samples/s");
  auto print = [&](const Row& row) {
    char change[16] = "", ratio[16] = "", rms[16] = "", sqnr[16] = "", out_sqnr[16] = "";
    if (float_row && &row != &*float_row) {
      std::snprintf(change, sizeof change, "%+.2f",
                    100.0 * (row.score.accuracy - float_row->score.accuracy));
      std::snprintf(ratio, sizeof ratio, "%.2fx",
                    double(float_row->score.bytes) / double(row.score.bytes));
    }
    if (row.error) {
      std::snprintf(rms, sizeof rms, "%.3g", row.error->rms_error);
      if (std::isfinite(row.error->sqnr_db))
        std::snprintf(sqnr, sizeof sqnr, "%.1f dB", row.error->sqnr_db);
      else
        std::snprintf(sqnr, sizeof sqnr, "exact");
    }
    const ErrorStats output = total_output_error(row.layers);
    if (output.count) std::snprintf(out_sqnr, sizeof out_sqnr, "%.1f dB", output.sqnr_db);
    // The dynamic int8 row (8-bit activations too) is marked in the scheme column.
    const std::string scheme =
        row.kernel == QuantizedKernel::dynamic_int8 ? "dyn-int8" : row.scheme;
    const std::string method = row.error ? row.method.label() : "-";
    // Ternary codes carry log2(3) bits each (stored at 1.6, five per byte).
    const std::string bits = row.scheme == "ternary" ? "1.58"
                             : row.bits              ? std::to_string(row.bits)
                                                     : "mix";
    std::printf("%-11s %-12s %-*s %4s  %7.2f%%  %7s  %9zu  %6s  %10s  %7s  %9s  %11.0f\n",
                scheme.c_str(), row.granularity.c_str(), width, method.c_str(), bits.c_str(),
                100.0 * row.score.accuracy, change, row.score.bytes, ratio, rms, sqnr, out_sqnr,
                row.score.samples_per_second);
  };
  if (float_row) print(*float_row);
  for (const auto& row : rows) print(row);
}

void print_method_summary(const std::vector<Row>& rows, double float_accuracy,
                          std::span<const int> bits_list) {
  std::vector<std::string> methods;
  for (const Row& row : rows)
    if (row.kernel == QuantizedKernel::weight_only &&
        std::find(methods.begin(), methods.end(), row.method.label()) == methods.end())
      methods.push_back(row.method.label());
  std::printf("\naccuracy (%%) by method and bits, asymmetric per-channel (float %.2f%%)\n",
              100.0 * float_accuracy);
  const int width = method_width(methods);
  std::printf("%-*s", width, "method");
  for (const int bits : bits_list) std::printf("  %7d-bit", bits);
  std::printf("\n");
  auto find = [&](const std::string& method, int bits) -> const Row* {
    for (const Row& row : rows)
      if (row.kernel == QuantizedKernel::weight_only && row.method.label() == method &&
          row.bits == bits)
        return &row;
    return nullptr;
  };
  for (const std::string& method : methods) {
    std::printf("%-*s", width, method.c_str());
    for (const int bits : bits_list) {
      const Row* row = find(method, bits);
      if (row)
        std::printf("  %11.2f", 100.0 * row->score.accuracy);
      else
        std::printf("  %11s", "-");
    }
    std::printf("\n");
  }
  std::printf("%-*s", width, "bytes");
  for (const int bits : bits_list) {
    const Row* row = methods.empty() ? nullptr : find(methods.front(), bits);
    std::printf("  %11zu", row ? row->score.bytes : std::size_t{0});
  }
  std::printf("\n");
}

namespace {

JsonValue error_json(const ErrorStats& e) {
  return JsonValue::object()
      .set("rmse", e.rms_error)
      .set("max_abs", e.max_abs_error)
      .set("sqnr_db", std::isfinite(e.sqnr_db) ? JsonValue(e.sqnr_db) : JsonValue());
}

JsonValue layers_json(const std::vector<LayerReport>& layers) {
  JsonValue list = JsonValue::array();
  for (const LayerReport& layer : layers) {
    JsonValue j = JsonValue::object();
    j.set("index", layer.index)
        .set("layer", layer.layer)
        .set("weight_rmse", layer.weight_error.rms_error)
        .set("weight_sqnr_db", std::isfinite(layer.weight_error.sqnr_db)
                                   ? JsonValue(layer.weight_error.sqnr_db)
                                   : JsonValue())
        .set("output_error", layer.has_output_error ? error_json(layer.output_error) : JsonValue())
        .set("bytes", layer.quantized_bytes);
    list.push(std::move(j));
  }
  return list;
}

}  // namespace

JsonValue row_json(const Row& row) {
  JsonValue j = JsonValue::object();
  j.set("scheme", row.scheme)
      .set("granularity", row.granularity)
      .set("kernel", row.activations.empty() ? to_string(row.kernel) : "static_int8")
      .set("activations", row.activations)
      .set("method", row.method.method)
      .set("grid", row.method.grid)
      .set("refits", row.method.refits)
      .set("bias_correction", row.method.bias_correction)
      .set("tune_epochs", row.method.tune_epochs)
      .set("calibration", row.calibration)
      .set("bits", row.scheme == "ternary" ? JsonValue(std::log2(3.0))
                   : row.bits              ? JsonValue(row.bits)
                                           : JsonValue())
      .set("group_size", row.group_size)
      .set("accuracy", row.score.accuracy)
      .set("bytes", row.score.bytes)
      .set("weight_rmse", row.error ? JsonValue(row.error->rms_error) : JsonValue())
      .set("sqnr_db", row.error ? JsonValue(row.error->sqnr_db) : JsonValue())
      .set("samples_per_second", row.score.samples_per_second)
      .set("layers", layers_json(row.layers));
  return j;
}

std::string format_plan(const MixedPrecisionPlan& plan, const Sequential& model) {
  std::string out = "mixed precision: per layer, the format chosen from measured sensitivity\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-5s %-22s %-28s %12s %12s %14s\n", "layer", "", "format",
                "bits/weight", "stored bits", "sensitivity");
  out += line;
  for (std::size_t l = 0; l < plan.layers.size(); ++l) {
    const LayerOption& o = plan.options[l][plan.chosen[l]];
    const std::size_t weights = model.layer(plan.layers[l]).state().find("weight")->element_count();
    std::snprintf(line, sizeof line, "%-5zu %-22s %-28s %12.3f %12llu %14.3g\n", plan.layers[l],
                  model.layer(plan.layers[l]).describe().c_str(), to_string(o.format).c_str(),
                  double(o.stored_bits) / double(weights), (unsigned long long)o.stored_bits,
                  o.sensitivity);
    out += line;
  }
  std::snprintf(line, sizeof line, "total: %.4f stored bits per weight over %llu weights\n",
                plan.bits_per_weight(), (unsigned long long)plan.weights);
  out += line;
  return out;
}

JsonValue plan_json(const MixedPrecisionPlan& plan, double budget) {
  JsonValue layers = JsonValue::array();
  for (std::size_t l = 0; l < plan.layers.size(); ++l) {
    JsonValue options = JsonValue::array();
    for (const LayerOption& o : plan.options[l])
      options.push(JsonValue::object()
                       .set("format", format_tag(o.format))
                       .set("stored_bits", o.stored_bits)
                       .set("sensitivity", o.sensitivity));
    const LayerOption& chosen = plan.options[l][plan.chosen[l]];
    layers.push(JsonValue::object()
                    .set("index", plan.layers[l])
                    .set("format", format_tag(chosen.format))
                    .set("stored_bits", chosen.stored_bits)
                    .set("sensitivity", chosen.sensitivity)
                    .set("options", std::move(options)));
  }
  return JsonValue::object()
      .set("budget_bits_per_weight", budget)
      .set("bits_per_weight", plan.bits_per_weight())
      .set("weights", plan.weights)
      .set("stored_bits", plan.stored_bits)
      .set("sensitivity",
           "mean KL divergence of the outputs on the calibration inputs, the "
           "layer alone quantized")
      .set("layers", std::move(layers));
}

}  // namespace tinyq
