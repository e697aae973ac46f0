// quantize_eval's static int8 rows.
#include "apps/static_int8_eval.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>

#include "apps/activation_plot.hpp"
#include "core/io/file_io.hpp"
#include "core/kernels/isa.hpp"
#include "core/random.hpp"
#include "nn/model_file.hpp"
#include "quant/static_int8/c_export.hpp"
#include "quant/static_int8/static_network.hpp"

namespace tinyq {

void add_static_int8_options(Options& options) {
  options.add("activations", "LIST",
              "static int8, an integer-only forward pass: the activation observers to "
              "calibrate with, comma-separated: minmax, percentile, mse, entropy (weights "
              "symmetric, per channel unless --granularity tensor)");
  options.add("export-c", "FILE.c",
              "write the static int8 model (the first --activations row) as one C99 file");
  options.add("plot-activations", "FILE.svg",
              "draw one layer's activation histogram over the calibration images with the "
              "range each --activations observer chose");
  options.add("plot-layer", "N",
              "the layer --plot-activations draws: a hidden Dense's index (default: the first)");
}

StaticInt8Request static_int8_request(const Options& options) {
  StaticInt8Request request;
  for (const std::string& name :
       options.choice_list("activations", {"minmax", "percentile", "mse", "entropy"}))
    request.observers.push_back(parse_observer(name));
  if (options.given("scheme") && options.text("scheme") != "symmetric")
    throw UsageError("option --scheme: static int8 weights are symmetric, found '" +
                     options.text("scheme") + "'");
  if (options.given("granularity"))
    request.weights.granularity =
        parse_granularity(options.choice("granularity", {"tensor", "channel"}));
  request.weights.bits = static_cast<int>(options.whole_number("bits", 2, 8));
  return request;
}

std::optional<ActivationPlotRequest> activation_plot_request(const Options& options,
                                                             bool static_int8) {
  if (!options.given("plot-activations")) {
    if (options.given("plot-layer")) throw UsageError("--plot-layer needs --plot-activations");
    return std::nullopt;
  }
  if (!static_int8)
    throw UsageError(
        "--plot-activations needs --activations (the observers whose ranges it draws)");
  ActivationPlotRequest request{options.text("plot-activations"), std::nullopt};
  if (options.given("plot-layer")) request.layer = options.whole_number("plot-layer", 0, 1u << 20);
  return request;
}

std::size_t activation_plot_layer(const Sequential& model, const ActivationPlotRequest& request) {
  // The observed outputs: every Dense but the last (its int32 scores are not).
  std::vector<std::size_t> observed;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (model.layer(i).kind() == "dense") observed.push_back(i);
  if (!observed.empty()) observed.pop_back();
  if (!request.layer) {
    if (observed.empty())
      throw UsageError("--plot-activations: the model has no hidden Dense layer to draw");
    return observed.front();
  }
  const std::size_t layer = *request.layer;
  if (layer >= model.size())
    throw UsageError("option --plot-layer: layer " + std::to_string(layer) +
                     " is out of range (the model has " + std::to_string(model.size()) +
                     " layers, 0.." + std::to_string(model.size() - 1) + ")");
  if (std::find(observed.begin(), observed.end(), layer) == observed.end()) {
    std::string list;
    for (const std::size_t i : observed) list += (list.empty() ? "" : ", ") + std::to_string(i);
    throw UsageError("option --plot-layer: layer " + std::to_string(layer) + " is " +
                     model.layer(layer).describe() +
                     ", whose output no observer sees (expected a hidden Dense: " +
                     (list.empty() ? std::string("none") : list) + ")");
  }
  return layer;
}

std::string plot_activations(const Sequential& model, std::size_t layer, const Tensor& calibration,
                             const std::vector<StaticInt8Row>& rows) {
  std::vector<Observer> observers;
  for (const StaticInt8Row& row : rows) observers.push_back(parse_observer(row.observer));
  for (const ObservedActivation& o : observed_activations(model, calibration)) {
    if (o.layer != layer) continue;
    ActivationFigure figure = activation_figure(o.values.values(), observers, 200);
    for (std::size_t k = 0; k < rows.size(); ++k)
      figure.ranges[k].accuracy = rows[k].score.accuracy;
    std::string subject = "layer " + std::to_string(layer) + ", " + model.layer(layer).describe();
    if (layer + 1 < model.size() && model.layer(layer + 1).kind() == "relu") subject += " + ReLU";
    return plot_activation_ranges(figure, subject, calibration.dim(0));
  }
  throw Error("plot_activations: layer " + std::to_string(layer) + " is not observed");
}

bool is_static_int8(const Sequential& model) {
  bool any = false;
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (model.layer(i).kind() == "static_int8_dense")
      any = true;
    else if (model.layer(i).kind() != "relu")
      return false;
  }
  return any;
}

ModelScore score_static_int8(const Sequential& model, const Dataset& test) {
  const StaticInt8Network network(model);
  if (network.inputs() != test.features())
    throw Error("model expects " + std::to_string(network.inputs()) +
                " inputs, but the images have " + std::to_string(test.features()) + " pixels");
  const std::vector<std::uint8_t>& pixels = test.pixels;  // the file's bytes: the input codes
  const Isa isa = active_isa(KernelFamily::int8_gemm);
  ModelScore score;
  score.bytes = serialize_model(model).size();
  double best = std::numeric_limits<double>::infinity();
  std::vector<std::uint8_t> classes;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto start = std::chrono::steady_clock::now();
    classes = network.predict(isa, pixels);
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::size_t correct = 0;
  for (std::size_t i = 0; i < classes.size(); ++i) correct += classes[i] == test.labels[i];
  score.accuracy = double(correct) / double(classes.size());
  score.samples_per_second = double(classes.size()) / best;
  return score;
}

std::vector<StaticInt8Row> evaluate_static_int8(const Sequential& model,
                                                const StaticInt8Request& request,
                                                const Tensor& calibration, const Dataset& test) {
  std::vector<StaticInt8Row> rows;
  for (const Observer observer : request.observers) {
    StaticInt8Config config = request.weights;
    config.observer = observer;
    Sequential quantized = quantize_static_int8(model, calibration, config);
    StaticInt8Row row{to_string(observer),
                      config.bits,
                      to_string(config.granularity),
                      score_static_int8(quantized, test),
                      total_weight_error(quantization_report(model, quantized)),
                      std::move(quantized)};
    rows.push_back(std::move(row));
  }
  return rows;
}

std::size_t write_c_export(const Sequential& model, const std::string& source,
                           const std::filesystem::path& path) {
  if (!is_static_int8(model))
    throw UsageError(
        "--export-c writes a static int8 model: give --activations, or a model "
        "saved with it");
  const std::string text = export_c(StaticInt8Network(model), source);
  write_text_file_atomically(path, text);
  return text.size();
}

}  // namespace tinyq
