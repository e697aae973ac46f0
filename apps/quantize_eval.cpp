// quantize_eval: quantize a trained model and show what it costs and buys.
//
// Given a float model and no scheme options it runs the default sweep (the
// original per-tensor asymmetric 8-bit method, symmetric per-channel 8-bit,
// and 4-bit per-group) and prints one table against the float model. With a
// scheme option it evaluates that one format (on the kernel --kernel names),
// and --out saves that quantized model. Given an already quantized model it evaluates it as it is.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/data_location.hpp"
#include "apps/model_evaluation.hpp"
#include "apps/options.hpp"
#include "apps/plots.hpp"
#include "apps/progress.hpp"
#include "apps/static_int8_eval.hpp"
#include "core/io/file_io.hpp"
#include "core/io/json_writer.hpp"
#include "core/thread_pool.hpp"
#include "data/mnist.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/registry.hpp"
#include "quant/report.hpp"

namespace tinyq {
namespace {

struct Row {
  std::string scheme, granularity;
  int bits = 32;
  std::size_t group_size = 0;
  ModelScore score;
  std::optional<ErrorStats> error;  // absent for float, and for a model loaded quantized
  QuantizedKernel kernel = QuantizedKernel::weight_only;
  std::string grid = "minmax";
  std::string activations = "";  // static int8: the activation observer
};

// The format of a quantized model's first quantized layer (for its table row).
std::optional<QuantFormat> format_of(const Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (const QuantizedMatrix* weight = quantized_weight(model.layer(i))) return weight->format;
  return std::nullopt;
}

std::string granularity_text(const QuantFormat& format) {
  return format.granularity == Granularity::group ? "group-" + std::to_string(format.group_size)
                                                  : to_string(format.granularity);
}

void print_table(const std::optional<Row>& float_row, const std::vector<Row>& rows) {
  std::printf("%-11s %-12s %4s  %8s  %7s  %9s  %6s  %10s  %7s  %11s\n", "scheme", "granularity",
              "bits", "accuracy", "change", "bytes", "ratio", "weight RMS", "SQNR", "samples/s");
  auto print = [&](const Row& row) {
    char change[16] = "", ratio[16] = "", rms[16] = "", sqnr[16] = "";
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
    // The dynamic int8 row (8-bit activations too) is marked in the scheme column.
    const std::string scheme =
        row.kernel == QuantizedKernel::dynamic_int8 ? "dyn-int8" : row.scheme;
    std::printf("%-11s %-12s %4d  %7.2f%%  %7s  %9zu  %6s  %10s  %7s  %11.0f\n", scheme.c_str(),
                row.granularity.c_str(), row.bits, 100.0 * row.score.accuracy, change,
                row.score.bytes, ratio, rms, sqnr, row.score.samples_per_second);
  };
  if (float_row) print(*float_row);
  for (const auto& row : rows) print(row);
}

JsonValue row_json(const Row& row) {
  JsonValue j = JsonValue::object();
  j.set("scheme", row.scheme)
      .set("granularity", row.granularity)
      .set("kernel", row.activations.empty() ? to_string(row.kernel) : "static_int8")
      .set("activations", row.activations)
      .set("grid", row.grid)
      .set("bits", row.bits)
      .set("group_size", row.group_size)
      .set("accuracy", row.score.accuracy)
      .set("bytes", row.score.bytes)
      .set("weight_rmse", row.error ? JsonValue(row.error->rms_error) : JsonValue())
      .set("sqnr_db", row.error ? JsonValue(row.error->sqnr_db) : JsonValue())
      .set("samples_per_second", row.score.samples_per_second);
  return j;
}

// Accuracy and size at 2..8 bits for the three formats of the default sweep.
std::vector<SweepPoint> bits_sweep(const Sequential& model, const Dataset& test) {
  const QuantConfig families[] = {{.format = {Scheme::asymmetric, Granularity::tensor, 8, 64}},
                                  {.format = {Scheme::symmetric, Granularity::channel, 8, 64}},
                                  {.format = {Scheme::asymmetric, Granularity::group, 8, 64}}};
  std::vector<SweepPoint> points;
  ProgressBar bar(std::size(families) * 7, "formats");
  for (QuantConfig config : families) {
    for (int bits = 2; bits <= 8; ++bits) {
      config.format.bits = bits;
      Sequential quantized = quantize_model(model, config);
      const ModelScore score = score_model(quantized, test.images, test.labels, 1);
      points.push_back({to_string(config.format.scheme) + "/" + granularity_text(config.format),
                        bits, score.accuracy, double(score.bytes)});
      bar.update(points.size());
    }
  }
  return points;
}

int quantize_eval(int argc, const char* const* argv) {
  Options options("quantize_eval",
                  "Quantize a trained tinyq model and evaluate accuracy, size and speed.");
  options.add("model", "FILE",
              "a model written by train_mnist (float) or by --out (quantized), or a "
              ".safetensors file (a float PyTorch nn.Sequential MLP, or --export output)");
  options.add("data", "DIR", "folder holding t10k- images and labels (see README)");
  options.add("scheme", "NAME", "evaluate one format: asymmetric or symmetric");
  options.add("granularity", "NAME", "tensor, channel or group (with --scheme)", "");
  options.add("group-size", "G", "inputs per group: a power of two >= 16", "64");
  options.add("bits", "B", "bits per weight, 2 to 8", "8");
  options.add("keep-float", "LIST", "layer indices to keep in float, e.g. 4");
  options.add("kernel", "NAME",
              "how the quantized layers multiply (with --scheme): weight_only (float "
              "activations, weights widened in registers) or dynamic_int8 (activations "
              "quantized per row to 8 bits, int32 sums)",
              "weight_only");
  options.add("grid", "NAME",
              "how each block's scale and offset are chosen (with --scheme): minmax (span the "
              "block's weights) or mse (clip the range to the least squared error)",
              "minmax");
  options.add("out", "FILE", "save the quantized model (needs --scheme)");
  options.add("export", "FILE.safetensors",
              "write the model as safetensors: the quantized one with --scheme, else the "
              "model as loaded");
  options.add("report", "FILE.json", "also write a JSON report");
  options.add("plot", "FILE.svg",
              "draw weight histograms with the quantization grid, and accuracy and size "
              "against bits (a sweep of 2..8 bits)");
  add_static_int8_options(options);
  options.add("threads", "T", "worker threads",
              std::to_string(std::max(1u, std::thread::hardware_concurrency())));
  if (!options.parse(argc, argv)) return 0;

  const std::string model_path = options.text("model");
  const bool single = options.given("scheme") || options.given("granularity") ||
                      options.given("bits") || options.given("group-size") ||
                      options.given("keep-float") || options.given("kernel") ||
                      options.given("grid");
  const bool static_int8 = options.given("activations");
  const auto static_request =
      static_int8 ? std::optional(static_int8_request(options)) : std::nullopt;
  QuantConfig config;
  if (single && !static_int8) {
    config.format.scheme = parse_scheme(options.choice("scheme", {"asymmetric", "symmetric"}));
    config.format.granularity =
        options.given("granularity")
            ? parse_granularity(options.choice("granularity", {"tensor", "channel", "group"}))
            : Granularity::tensor;
    config.format.bits = static_cast<int>(options.whole_number("bits", 2, 8));
    config.format.group_size = options.whole_number("group-size", 16, 1u << 20);
    if (config.format.granularity == Granularity::group &&
        (config.format.group_size & (config.format.group_size - 1)) != 0)
      throw UsageError("option --group-size: expected a power of two >= 16, found '" +
                       options.text("group-size") + "'");
    if (options.given("keep-float")) config.keep_float = options.number_list("keep-float", 0, 1024);
    config.kernel = parse_kernel(options.choice("kernel", {"weight_only", "dynamic_int8"}));
    config.grid = options.choice("grid", {"minmax", "mse"});
  }
  const auto out_path = options.optional_text("out");
  if (out_path && !single && !static_int8)
    throw UsageError("--out needs --scheme: it saves one quantized model");
  if (out_path) require_distinct_paths("model", model_path, "out", *out_path);
  const auto export_path = options.optional_text("export");
  if (export_path) require_distinct_paths("model", model_path, "export", *export_path);
  const auto export_c_path = options.optional_text("export-c");
  if (export_c_path) require_distinct_paths("model", model_path, "export-c", *export_c_path);
  const auto report_path = options.optional_text("report");
  if (report_path) require_distinct_paths("model", model_path, "report", *report_path);
  const auto plot_path = options.optional_text("plot");
  if (plot_path) require_distinct_paths("model", model_path, "plot", *plot_path);
  set_num_threads(options.whole_number("threads", 1, 256));

  Sequential model = load_model(model_path, all_layers());
  if (export_c_path && !static_int8 && !is_static_int8(model))
    throw UsageError("--export-c needs --activations (or a saved static int8 model)");
  const std::filesystem::path folder = locate_data(options.optional_text("data"));
  const Dataset test = load_mnist_split(folder, "t10k");
  std::cout << "model: " << model_path << ": " << model.describe() << "\n"
            << "data: " << folder.string() << " (" << test.size() << " test images)\n\n";

  std::optional<Row> float_row;
  std::vector<Row> rows;
  std::optional<Sequential> saved;  // the single format's model, or the sweep's first
  if (is_quantized(model)) {
    if (single || static_int8)
      throw UsageError("the model is already quantized; give no scheme options");
    if (is_static_int8(model))
      rows.push_back({"static-int8", "-", 8, 0, score_static_int8(model, test), std::nullopt});
    else {
      const QuantFormat format = *format_of(model);
      rows.push_back({to_string(format.scheme), granularity_text(format), format.bits,
                      format.granularity == Granularity::group ? format.group_size : 0,
                      score_model(model, test.images, test.labels), std::nullopt});
    }
  } else {
    float_row =
        Row{"float", "-", 32, 0, score_model(model, test.images, test.labels), std::nullopt};
    std::vector<QuantConfig> configs;
    if (static_int8) {
      for (StaticInt8Row& r : evaluate_static_int8(model, *static_request, folder, test)) {
        rows.push_back({"static-int8", r.observer, r.bits, 0, r.score, r.error,
                        QuantizedKernel::weight_only, "minmax", r.observer});
        if (!saved) saved = std::move(r.model);
      }
    } else if (single) {
      configs.push_back(config);
    } else {
      configs.push_back({.format = {Scheme::asymmetric, Granularity::tensor, 8, 64}});
      configs.push_back({.format = {Scheme::symmetric, Granularity::channel, 8, 64}});
      configs.push_back({.format = {Scheme::asymmetric, Granularity::group, 4, 64}});
      // PyTorch's dynamic quantization: 8-bit weights and, per row at run
      // time, 8-bit activations with int32 sums.
      configs.push_back({.format = {Scheme::asymmetric, Granularity::channel, 8, 64},
                         .kernel = QuantizedKernel::dynamic_int8});
    }
    ProgressBar bar(configs.size(), "formats");
    for (const auto& c : configs) {
      Sequential quantized = quantize_model(model, c);
      const std::vector<LayerReport> layers = quantization_report(model, quantized);
      rows.push_back({to_string(c.format.scheme), granularity_text(c.format), c.format.bits,
                      c.format.granularity == Granularity::group ? c.format.group_size : 0,
                      score_model(quantized, test.images, test.labels), total_weight_error(layers),
                      c.kernel, c.grid});
      bar.update(rows.size());
      if (single) {
        if (c.grid != "minmax") std::cout << "grid: " << c.grid << "\n";
        std::cout << format_report(layers) << "\n";
      }
      if (!saved) saved = std::move(quantized);
    }
    bar.finish();
  }
  print_table(float_row, rows);

  if (plot_path) {
    if (!float_row) throw UsageError("--plot needs a float model (it compares against float)");
    const std::string svg =
        plot_quantization(model, *saved, bits_sweep(model, test), float_row->score.accuracy,
                          double(float_row->score.bytes));
    write_text_file_atomically(*plot_path, svg);
    std::cout << "\nwrote " << *plot_path << "\n";
  }
  if (out_path && saved) {
    const auto bytes = serialize_model(*saved);
    write_file_atomically(*out_path, bytes);
    std::cout << "\nsaved " << *out_path << " (" << bytes.size() << " bytes)\n";
  }
  if (export_c_path) {
    const Sequential& exported = saved ? *saved : model;
    const std::size_t bytes = write_c_export(exported, model_path, *export_c_path);
    std::cout << "\nwrote " << *export_c_path << " (" << bytes << " bytes of C)\n";
  }
  if (export_path) {
    const std::size_t bytes =
        save_safetensors(single || static_int8 ? *saved : model, *export_path);
    std::cout << "\nexported " << *export_path << " (" << bytes << " bytes)\n";
  }
  if (report_path) {
    JsonValue results = JsonValue::array();
    for (const auto& row : rows) results.push(row_json(row));
    JsonValue float_json;
    if (float_row)
      float_json = JsonValue::object()
                       .set("accuracy", float_row->score.accuracy)
                       .set("bytes", float_row->score.bytes)
                       .set("samples_per_second", float_row->score.samples_per_second);
    JsonValue report = JsonValue::object();
    report.set("model", model_path).set("float", float_json).set("results", std::move(results));
    const std::string text = to_json(report);
    write_text_file_atomically(*report_path, text);
  }
  return 0;
}

}  // namespace
}  // namespace tinyq

int main(int argc, char** argv) {
  return tinyq::run_program("quantize_eval", tinyq::quantize_eval, argc, argv);
}
