// quantize_eval: quantize a trained model and show what it costs and buys.
//
// Given a float model and no scheme options it runs the default sweep: every
// method of sweep_methods() at 2, 3, 4 and 8 bits (asymmetric per-channel),
// plus the dynamic int8 kernel at 8 bits, in one table against the float
// model and one accuracy-by-method-and-bits summary. With a scheme option it
// evaluates that one format (on the kernel --kernel names), and --out saves
// that quantized model. Given an already quantized model it evaluates it as
// it is.
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
#include "apps/quantize_options.hpp"
#include "apps/quantize_tables.hpp"
#include "apps/static_int8_eval.hpp"
#include "core/io/file_io.hpp"
#include "core/io/json_writer.hpp"
#include "core/thread_pool.hpp"
#include "data/mnist.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "quant/awq.hpp"
#include "quant/calibration.hpp"
#include "quant/methods.hpp"
#include "quant/mixed_precision.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/registry.hpp"
#include "quant/report.hpp"

namespace tinyq {
namespace {

// The methods the default sweep compares, side by side: round to nearest on
// the min-max grid (the seed's method), on a grid with 0 as a level, and on
// the searched grid; then the data-aware methods, on the zero-exact grid
// (the one they do best on here at 2 bits).
std::vector<MethodChoice> sweep_methods() {
  return {{"rtn", "minmax"},      {"rtn", "zero-exact"}, {"rtn", "search"},
          {"gptq", "zero-exact"}, {"awq", "zero-exact"}, {"awq+gptq", "zero-exact"}};
}
constexpr int sweep_bits[] = {2, 3, 4, 8};

QuantConfig with_method(QuantConfig config, const MethodChoice& method) {
  config.method = method.method;
  config.grid = method.grid;
  config.gptq_refits = method.refits;
  config.bias_correction = method.bias_correction;
  config.tune_epochs = method.tune_epochs;
  return config;
}

// The format of a quantized model's first quantized layer (for its table row).
std::optional<QuantFormat> format_of(const Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (const QuantizedMatrix* weight = quantized_weight(model.layer(i))) return weight->format;
  return std::nullopt;
}

// The test images as floats, converted once for every row of the table.
struct TestSet {
  Tensor images;
  std::span<const std::uint8_t> labels;
};

// Scores a quantized model: the table row, with each layer's weight error
// and (given calibration inputs) output error against `reference`, the float
// model the quantization started from (AWQ's rescaled one: its weights and
// each layer's outputs are scaled, the model's function is not).
Row score_quantized(const Sequential& reference, Sequential& quantized, const QuantConfig& config,
                    const MethodChoice& method, const Tensor& calibration, const TestSet& test,
                    std::size_t repeats) {
  Row row = format_row(config.format, score_model(quantized, test.images, test.labels, repeats));
  row.layers = quantization_report(reference, quantized, calibration);
  row.error = total_weight_error(row.layers);
  row.kernel = config.kernel;
  row.method = method;
  row.calibration = calibration.rank() == 2 ? calibration.dim(0) : 0;
  return row;
}

Row evaluate(const Sequential& model, const QuantConfig& config, const MethodChoice& method,
             const Tensor& calibration, const TestSet& test, std::size_t repeats,
             Sequential& quantized) {
  quantized = quantize_model(model, config, calibration);
  Sequential reference = model;
  if (uses_awq(config)) awq_rescale(reference, config, calibration);  // as quantize_model did
  return score_quantized(reference, quantized, config, method, calibration, test, repeats);
}

// The formats --budget chooses from for each layer: 2, 3, 4 and 8 bits, one
// scale per row or per group of 256, 128, 64 or 32 inputs (finer groups cost
// more scale bits: 64 / G per weight, asymmetric).
std::vector<QuantFormat> budget_candidates(Scheme scheme) {
  std::vector<QuantFormat> formats;
  for (const int bits : sweep_bits) {
    formats.push_back({scheme, Granularity::channel, bits, 64});
    for (const std::size_t group : {256, 128, 64, 32})
      formats.push_back({scheme, Granularity::group, bits, group});
  }
  return formats;
}

// The default sweep's formats: every method at every bit width, asymmetric
// per-channel, then PyTorch's dynamic quantization (8-bit weights and, per
// row at run time, 8-bit activations with int32 sums).
std::vector<std::pair<QuantConfig, MethodChoice>> sweep_formats() {
  std::vector<std::pair<QuantConfig, MethodChoice>> formats;
  for (const MethodChoice& method : sweep_methods())
    for (const int bits : sweep_bits) {
      QuantConfig config{.format = {Scheme::asymmetric, Granularity::channel, bits, 64}};
      formats.emplace_back(with_method(config, method), method);
    }
  formats.emplace_back(QuantConfig{.format = {Scheme::asymmetric, Granularity::channel, 8, 64},
                                   .kernel = QuantizedKernel::dynamic_int8},
                       MethodChoice{});
  return formats;
}

std::vector<SweepPoint> sweep_points(const std::vector<Row>& rows) {
  std::vector<SweepPoint> points;
  for (const Row& row : rows)
    if (row.kernel == QuantizedKernel::weight_only && row.error)
      points.push_back({row.method.label(), row.bits, row.score.accuracy, double(row.score.bytes)});
  return points;
}

int quantize_eval(int argc, const char* const* argv) {
  Options options("quantize_eval",
                  "Quantize a trained tinyq model and evaluate accuracy, size and speed.");
  add_quantize_options(options);
  add_static_int8_options(options);
  options.add("threads", "T", "worker threads",
              std::to_string(std::max(1u, std::thread::hardware_concurrency())));
  if (!options.parse(argc, argv)) return 0;

  const std::string model_path = options.text("model");
  // --activations: static int8 (weights symmetric 8-bit or fewer, activations
  // calibrated), which takes only the weight options static_int8_request reads.
  const bool static_int8 = options.given("activations");
  if (static_int8)
    for (const char* name :
         {"group-size", "keep-float", "kernel", "grid", "method", "damp", "act-order",
          "bias-correction", "refits", "budget", "tune-epochs", "tune-lr"})
      if (options.given(name))
        throw UsageError(std::string("option --") + name +
                         ": not used by static int8 (--activations)");
  const auto static_request =
      static_int8 ? std::optional(static_int8_request(options)) : std::nullopt;
  auto activation_plot = activation_plot_request(options, static_int8);
  const bool single = !static_int8 && asks_for_one_format(options);
  std::optional<double> budget;
  if (options.given("budget")) budget = options.real_number("budget", 2, 32);
  const QuantConfig config =
      single ? one_format_config(options, budget.has_value()) : QuantConfig{};
  // Calibration data: for the data-aware methods, the sweep (which has some),
  // mixed precision and the plot (the sweep again), or when asked for (to
  // weight the grid search). Its size is checked against the training set below.
  const bool calibrate = static_int8 || !single || budget || config.method != "rtn" ||
                         config.bias_correction || config.tune_epochs > 0 ||
                         options.given("calibration") || options.given("plot");
  std::size_t calibration_size = options.whole_number("calibration", 1, 1u << 30);
  const std::uint64_t seed = options.whole_number("seed", 0, UINT64_MAX);
  const auto out_path = options.optional_text("out");
  if (out_path && !single && !static_int8)
    throw UsageError("--out needs --scheme or --budget: it saves one quantized model");
  if (out_path) require_distinct_paths("model", model_path, "out", *out_path);
  const auto export_path = options.optional_text("export");
  if (export_path) require_distinct_paths("model", model_path, "export", *export_path);
  const auto export_c_path = options.optional_text("export-c");
  if (export_c_path) require_distinct_paths("model", model_path, "export-c", *export_c_path);
  const auto report_path = options.optional_text("report");
  if (report_path) require_distinct_paths("model", model_path, "report", *report_path);
  const auto plot_path = options.optional_text("plot");
  if (plot_path) require_distinct_paths("model", model_path, "plot", *plot_path);
  if (activation_plot)
    require_distinct_paths("model", model_path, "plot-activations", activation_plot->path);
  set_num_threads(options.whole_number("threads", 1, 256));

  // The single format's method, and whether it (and its report) sees the
  // calibration images: round-to-nearest only when they are asked for.
  const MethodChoice single_method{config.method, config.grid, config.gptq_refits,
                                   config.bias_correction, config.tune_epochs};
  const bool single_calibrated = budget || config.method != "rtn" || config.bias_correction ||
                                 config.tune_epochs > 0 || options.given("calibration");

  Sequential model = load_model(model_path, all_layers());
  if (activation_plot && !is_quantized(model))
    activation_plot->layer = activation_plot_layer(model, *activation_plot);
  if (export_c_path && !static_int8 && !is_static_int8(model))
    throw UsageError("--export-c needs --activations (or a saved static int8 model)");
  const std::filesystem::path folder = locate_data(options.optional_text("data"));
  const Dataset test = load_mnist_split(folder, "t10k");
  const TestSet test_set{test.float_images(), test.labels};  // converted once, for every row
  std::cout << "model: " << model_path << ": " << model.describe() << "\n"
            << "data: " << folder.string() << " (" << test.size() << " test images)\n";

  std::optional<Row> float_row;
  std::vector<Row> rows;
  std::optional<Sequential> saved;  // the single format's model, or the sweep's first
  std::vector<SweepPoint> sweep;    // for --plot
  std::optional<MixedPrecisionPlan> plan;
  std::string activation_svg;  // for --plot-activations
  if (is_quantized(model)) {
    if (single || static_int8)
      throw UsageError("the model is already quantized; give no scheme options");
    std::cout << "\n";
    if (is_static_int8(model)) {
      Row row;
      row.scheme = "static-int8";
      row.granularity = "-";
      row.bits = 8;
      row.score = score_static_int8(model, test);
      rows.push_back(std::move(row));
    } else {
      const QuantFormat format = *format_of(model);
      rows.push_back(format_row(format, score_model(model, test_set.images, test.labels)));
      for (std::size_t i = 0; i < model.size(); ++i)
        if (const QuantizedMatrix* weight = quantized_weight(model.layer(i));
            weight && !(weight->format == format)) {  // mixed precision (--budget)
          rows.back().granularity = "mixed";
          rows.back().bits = 0;
        }
    }
  } else {
    Tensor calibration;
    if (calibrate) {
      const Dataset train = load_mnist_split(folder, "train");
      // The default (1024) shrinks to a smaller training set; a given N does not.
      if (!options.given("calibration"))
        calibration_size = std::min(calibration_size, train.size());
      if (calibration_size > train.size())
        throw UsageError("option --calibration: expected 1 to " + std::to_string(train.size()) +
                         " (the training set), found '" + options.text("calibration") + "'");
      // Only the chosen images become floats (the whole training set would
      // be 188 MB for Fashion-MNIST's 60,000).
      const std::vector<std::size_t> rows =
          calibration_indices(train.size(), calibration_size, seed);
      calibration.resize({rows.size(), train.features()});
      for (std::size_t i = 0; i < rows.size(); ++i)
        pixels_to_floats(
            std::span(train.pixels).subspan(rows[i] * train.features(), train.features()),
            calibration.row(i));
      std::cout << "calibration: " << calibration_size << " training images (seed " << seed
                << ")\n";
    }
    std::cout << "\n";
    float_row.emplace();
    float_row->scheme = "float";
    float_row->granularity = "-";
    float_row->score = score_model(model, test_set.images, test.labels);
    std::vector<std::pair<QuantConfig, MethodChoice>> formats;
    if (budget) {
      const std::vector<QuantFormat> candidates = budget_candidates(config.format.scheme);
      ProgressBar measuring(1, "sensitivity");
      plan = plan_mixed_precision(model, config, candidates, *budget, calibration);
      measuring.finish();
      Sequential quantized = quantize_mixed(model, config, *plan, calibration);
      Row row = score_quantized(mixed_reference(model, config, *plan, calibration), quantized,
                                config, single_method, calibration, test_set, 3);
      char text[32];
      std::snprintf(text, sizeof text, "mixed-%.3f", plan->bits_per_weight());
      row.granularity = text;
      row.bits = 0;
      rows.push_back(std::move(row));
      std::cout << format_plan(*plan, model) << "\n" << format_report(rows.back().layers) << "\n";
      saved = std::move(quantized);
    } else if (static_int8) {
      std::vector<StaticInt8Row> static_rows =
          evaluate_static_int8(model, *static_request, calibration, test);
      if (activation_plot)
        activation_svg = plot_activations(model, *activation_plot->layer, calibration, static_rows);
      for (StaticInt8Row& r : static_rows) {
        Row row;
        row.scheme = "static-int8";
        row.granularity = r.observer;  // the activation observer, in the table's second column
        row.bits = r.bits;
        row.score = r.score;
        row.error = r.error;
        row.activations = r.observer;
        row.calibration = calibration.dim(0);
        rows.push_back(std::move(row));
        if (!saved) saved = std::move(r.model);
      }
    } else if (single) {
      formats.emplace_back(config, single_method);
    } else {
      formats = sweep_formats();
    }
    ProgressBar bar(formats.size(), "formats");
    for (const auto& [c, method] : formats) {
      Sequential quantized;
      // A single format is timed three times; the sweep's many rows twice
      // each, best of two: a model's first pass also touches its layers'
      // new output buffers (15 MB on the test set) for the first time,
      // which cost the sweep's rows up to 3x their speed when timed once.
      rows.push_back(evaluate(model, c, method,
                              !single || single_calibrated ? calibration : Tensor(), test_set,
                              single ? 3 : 2, quantized));
      bar.update(rows.size());
      if (single) {
        if (method.label() != "rtn/minmax") std::cout << "method: " << method.label() << "\n";
        std::cout << format_report(rows.back().layers) << "\n";
      }
      if (!saved) saved = std::move(quantized);
    }
    bar.finish();
    sweep = sweep_points(rows);
    if (plot_path && single) {  // the plot's accuracy-by-method panel
      for (const auto& [c, method] : sweep_formats()) {
        if (c.kernel != QuantizedKernel::weight_only) continue;
        Sequential quantized;
        const Row row = evaluate(model, c, method, calibration, test_set, 1, quantized);
        sweep.push_back({method.label(), row.bits, row.score.accuracy, double(row.score.bytes)});
      }
    }
  }
  print_table(float_row, rows);
  if (float_row && !single) print_method_summary(rows, float_row->score.accuracy, sweep_bits);

  if (plot_path) {
    if (!float_row) throw UsageError("--plot needs a float model (it compares against float)");
    // The grids drawn under the histograms: a coarse per-tensor format, whose
    // few levels can be told apart, without and with 0 as a level; each
    // labelled with the accuracy of the whole model quantized so.
    std::vector<Sequential> coarse;
    std::vector<GridPanel> grids;
    for (const std::string grid : {"minmax", "zero-exact"}) {
      QuantConfig c{.format = {Scheme::asymmetric, Granularity::tensor, 3, 64}};
      c.grid = grid;
      coarse.push_back(quantize_model(model, c));
      char label[64];
      std::snprintf(label, sizeof label, "%s, model %.2f%%", grid.c_str(),
                    100.0 * score_model(coarse.back(), test_set.images, test.labels, 1).accuracy);
      grids.push_back({label, nullptr});
    }
    for (std::size_t g = 0; g < coarse.size(); ++g) grids[g].model = &coarse[g];
    const std::string svg = plot_quantization(model, grids, sweep, float_row->score.accuracy,
                                              double(float_row->score.bytes));
    write_text_file_atomically(*plot_path, svg);
    std::cout << "\nwrote " << *plot_path << "\n";
  }
  if (activation_plot) {
    write_text_file_atomically(activation_plot->path, activation_svg);
    std::cout << "\nwrote " << activation_plot->path << "\n";
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
    if (plan) report.set("mixed_precision", plan_json(*plan, *budget));
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
