// quantize_eval's static int8 rows.
#include "apps/static_int8_eval.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>

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
