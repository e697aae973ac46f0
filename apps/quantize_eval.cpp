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
  return config;
}

// The format of a quantized model's first quantized layer (for its table row).
std::optional<QuantFormat> format_of(const Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (const QuantizedMatrix* weight = quantized_weight(model.layer(i))) return weight->format;
  return std::nullopt;
}

// Scores a quantized model: the table row, with each layer's weight error
// and (given calibration inputs) output error against `reference`, the float
// model the quantization started from (AWQ's rescaled one: its weights and
// each layer's outputs are scaled, the model's function is not).
Row score_quantized(const Sequential& reference, Sequential& quantized, const QuantConfig& config,
                    const MethodChoice& method, const Tensor& calibration, const Dataset& test,
                    std::size_t repeats) {
  Row row =
      format_row(config.format, score_model(quantized, test.float_images(), test.labels, repeats));
  row.layers = quantization_report(reference, quantized, calibration);
  row.error = total_weight_error(row.layers);
  row.kernel = config.kernel;
  row.method = method;
  row.calibration = calibration.rank() == 2 ? calibration.dim(0) : 0;
  return row;
}

Row evaluate(const Sequential& model, const QuantConfig& config, const MethodChoice& method,
             const Tensor& calibration, const Dataset& test, std::size_t repeats,
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
  options.add("model", "FILE",
              "a model written by train_mnist (float) or by --out (quantized), or a "
              ".safetensors file (a float PyTorch nn.Sequential MLP, or --export output)");
  options.add("data", "DIR",
              "folder holding t10k- images and labels, and train- ones for calibration (see "
              "README)");
  options.add("scheme", "NAME",
              "evaluate one format: asymmetric, symmetric or ternary (codes -1, 0, +1, five "
              "per byte; --bits 1.58)");
  options.add("granularity", "NAME", "tensor, channel or group (with --scheme)", "");
  options.add("group-size", "G", "inputs per group: a power of two >= 16", "64");
  options.add("bits", "B", "bits per weight, 2 to 8 (1.58 with --scheme ternary)", "8");
  options.add("keep-float", "LIST", "layer indices to keep in float, e.g. 4");
  options.add("kernel", "NAME",
              "how the quantized layers multiply (with --scheme): weight_only (float "
              "activations, weights widened in registers) or dynamic_int8 (activations "
              "quantized per row to 8 bits, int32 sums)",
              "weight_only");
  options.add("grid", "NAME",
              "how each block's scale and offset are chosen (with --scheme): minmax (span the "
              "block's weights), zero-exact (asymmetric: an integer zero point, so 0 is a "
              "level) or search (the scale and zero point of least squared error, weighted by "
              "E[x^2] with calibration data; mse is another name for it)",
              "minmax");
  options.add("method", "NAME",
              "rtn (round to nearest), awq (activation-aware scaling), gptq (error-compensating "
              "rounding) or awq+gptq; all but rtn use calibration data (with --scheme)",
              "rtn");
  options.add("calibration", "N",
              "training images passed through the model for the data-aware methods (and to "
              "weight --grid search); any N from 1 to the training set size",
              "1024");
  options.add("seed", "S", "seed for choosing the calibration images", "1");
  options.add("damp", "X", "GPTQ damping: fraction of the mean diagonal of H added to it", "0.01");
  options.add_flag("bias-correction",
                   "add to each quantized layer's bias its mean output error on the calibration "
                   "images (inputs through the quantized layers before it; with --scheme)");
  options.add("refits", "N",
              "GPTQ: after the pass, refit every block's scale (and offset) to the least output "
              "error with the codes fixed and pass again, up to N times while the error falls",
              "0");
  options.add_flag("act-order", "GPTQ: round columns in order of decreasing H_cc");
  options.add("budget", "BITS",
              "mixed precision: choose each layer's bits and scale granularity from measured "
              "sensitivity to fit an average of BITS stored bits per weight, scales included "
              "(at least 2)");
  options.add("out", "FILE", "save the quantized model (needs --scheme or --budget)");
  options.add("export", "FILE.safetensors",
              "write the model as safetensors: the quantized one with --scheme, else the "
              "model as loaded");
  options.add("report", "FILE.json", "also write a JSON report");
  options.add("plot", "FILE.svg",
              "draw each layer's weight histogram under 3-bit grids without and with a zero "
              "level, and accuracy and size against bits (2, 3, 4, 8) for every method of the "
              "sweep");
  add_static_int8_options(options);
  options.add("threads", "T", "worker threads",
              std::to_string(std::max(1u, std::thread::hardware_concurrency())));
  if (!options.parse(argc, argv)) return 0;

  const std::string model_path = options.text("model");
  // --activations: static int8 (weights symmetric 8-bit or fewer, activations
  // calibrated), which takes only the weight options static_int8_request reads.
  const bool static_int8 = options.given("activations");
  if (static_int8)
    for (const char* name : {"group-size", "keep-float", "kernel", "grid", "method", "damp",
                             "act-order", "bias-correction", "refits", "budget"})
      if (options.given(name))
        throw UsageError(std::string("option --") + name +
                         ": not used by static int8 (--activations)");
  const auto static_request =
      static_int8 ? std::optional(static_int8_request(options)) : std::nullopt;
  auto activation_plot = activation_plot_request(options, static_int8);
  const bool single =
      !static_int8 &&
      (options.given("scheme") || options.given("granularity") || options.given("bits") ||
       options.given("group-size") || options.given("keep-float") || options.given("kernel") ||
       options.given("grid") || options.given("method") || options.given("calibration") ||
       options.given("damp") || options.flag("act-order") || options.flag("bias-correction") ||
       options.given("refits") || options.given("budget"));
  std::optional<double> budget;
  if (options.given("budget")) budget = options.real_number("budget", 2, 32);
  QuantConfig config;
  if (single) {
    config.format.scheme =
        budget && !options.given("scheme")
            ? Scheme::asymmetric
            : parse_scheme(options.choice("scheme", {"asymmetric", "symmetric", "ternary"}));
    config.format.granularity =
        options.given("granularity")
            ? parse_granularity(options.choice("granularity", {"tensor", "channel", "group"}))
            : Granularity::tensor;
    if (config.format.scheme != Scheme::ternary)
      config.format.bits = static_cast<int>(options.whole_number("bits", 2, 8));
    else if (options.given("bits") && options.text("bits") != "1.58")
      throw UsageError("option --bits: the ternary scheme has 1.58 bits, found '" +
                       options.text("bits") + "'");
    else
      config.format.bits = ternary_bits;
    config.format.group_size = options.whole_number("group-size", 16, 1u << 20);
    if (config.format.granularity == Granularity::group &&
        (config.format.group_size & (config.format.group_size - 1)) != 0)
      throw UsageError("option --group-size: expected a power of two >= 16, found '" +
                       options.text("group-size") + "'");
    if (options.given("keep-float")) config.keep_float = options.number_list("keep-float", 0, 1024);
    config.kernel = parse_kernel(options.choice("kernel", {"weight_only", "dynamic_int8"}));
    config.grid = options.choice("grid", {"minmax", "zero-exact", "search", "mse"});
    config.method = options.choice("method", {"rtn", "awq", "gptq", "awq+gptq"});
    config.damp = options.real_number("damp", 0.0, 1e6);
    config.act_order = options.flag("act-order");
    config.gptq_refits = options.whole_number("refits", 0, 100);
    if (config.gptq_refits > 0 && !uses_gptq(config))
      throw UsageError(
          "option --refits: refits GPTQ's grids, so it needs --method gptq or "
          "awq+gptq, found '" +
          config.method + "'");
    config.bias_correction = options.flag("bias-correction");
  }
  // Calibration data: for the data-aware methods, the sweep (which has some),
  // mixed precision and the plot (the sweep again), or when asked for (to
  // weight the grid search). Its size is checked against the training set below.
  const bool calibrate = static_int8 || !single || budget || config.method != "rtn" ||
                         config.bias_correction || options.given("calibration") ||
                         options.given("plot");
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
                                   config.bias_correction};
  const bool single_calibrated =
      budget || config.method != "rtn" || config.bias_correction || options.given("calibration");

  Sequential model = load_model(model_path, all_layers());
  if (activation_plot && !is_quantized(model))
    activation_plot->layer = activation_plot_layer(model, *activation_plot);
  if (export_c_path && !static_int8 && !is_static_int8(model))
    throw UsageError("--export-c needs --activations (or a saved static int8 model)");
  const std::filesystem::path folder = locate_data(options.optional_text("data"));
  const Dataset test = load_mnist_split(folder, "t10k");
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
      rows.push_back(format_row(format, score_model(model, test.float_images(), test.labels)));
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
      calibration = calibration_rows(train.float_images(), calibration_size, seed);
      std::cout << "calibration: " << calibration_size << " training images (seed " << seed
                << ")\n";
    }
    std::cout << "\n";
    float_row.emplace();
    float_row->scheme = "float";
    float_row->granularity = "-";
    float_row->score = score_model(model, test.float_images(), test.labels);
    std::vector<std::pair<QuantConfig, MethodChoice>> formats;
    if (budget) {
      const std::vector<QuantFormat> candidates = budget_candidates(config.format.scheme);
      ProgressBar measuring(1, "sensitivity");
      plan = plan_mixed_precision(model, config, candidates, *budget, calibration);
      measuring.finish();
      Sequential quantized = quantize_mixed(model, config, *plan, calibration);
      Row row = score_quantized(mixed_reference(model, config, *plan, calibration), quantized,
                                config, single_method, calibration, test, 3);
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
      // The sweep's many rows are timed once each; a single format three times.
      rows.push_back(evaluate(model, c, method,
                              !single || single_calibrated ? calibration : Tensor(), test,
                              single ? 3 : 1, quantized));
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
        const Row row = evaluate(model, c, method, calibration, test, 1, quantized);
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
      std::snprintf(
          label, sizeof label, "%s, model %.2f%%", grid.c_str(),
          100.0 * score_model(coarse.back(), test.float_images(), test.labels, 1).accuracy);
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
