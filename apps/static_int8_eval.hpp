// quantize_eval's static int8 part (--activations, --calibration,
// --export-c): calibrate on a seeded sample of training images, build the
// integer-only model once per observer and score it with the integer pipeline
// on the raw u8 test pixels (quant/static_int8/).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apps/model_evaluation.hpp"
#include "apps/options.hpp"
#include "data/mnist.hpp"
#include "nn/sequential.hpp"
#include "quant/report.hpp"
#include "quant/static_int8/quantize_static.hpp"

namespace tinyq {

// Adds --activations and --export-c to quantize_eval's options (the
// calibration images are quantize_eval's --calibration and --seed, shared
// with the data-aware weight methods).
void add_static_int8_options(Options& options);

struct StaticInt8Request {
  std::vector<Observer> observers;
  StaticInt8Config weights;  // observer is set per row
};
// Reads the options; UsageError for a weight format static int8 cannot use.
StaticInt8Request static_int8_request(const Options& options);

struct StaticInt8Row {
  std::string observer;
  int bits = 8;
  std::string granularity;
  ModelScore score;
  ErrorStats error;
  Sequential model;
};

// One row per observer, in the order asked, each calibrated on
// `calibration` [samples, inputs] (training images as floats).
std::vector<StaticInt8Row> evaluate_static_int8(const Sequential& model,
                                                const StaticInt8Request& request,
                                                const Tensor& calibration, const Dataset& test);

// --plot-activations FILE.svg [--plot-layer N]: the histogram of one hidden
// Dense's calibration activations with each observer's range
// (apps/activation_plot.hpp).
struct ActivationPlotRequest {
  std::string path;
  std::optional<std::size_t> layer;  // unset: the first hidden Dense
};
// Nothing when --plot-activations is not given; UsageError when it (or
// --plot-layer) is given without what it needs.
std::optional<ActivationPlotRequest> activation_plot_request(const Options& options,
                                                             bool static_int8);
// The layer to draw: the asked one, or the first hidden Dense. UsageError
// for an index out of range or a layer whose output no observer sees.
std::size_t activation_plot_layer(const Sequential& model, const ActivationPlotRequest& request);
// The figure of `layer` over `calibration`, with each row's observer and
// model accuracy.
std::string plot_activations(const Sequential& model, std::size_t layer, const Tensor& calibration,
                             const std::vector<StaticInt8Row>& rows);

// True for a model of static int8 layers (and ReLUs).
bool is_static_int8(const Sequential& model);
// Accuracy, bytes and samples/s (best of 3) of the integer pipeline on the
// test set's u8 pixels.
ModelScore score_static_int8(const Sequential& model, const Dataset& test);

// Writes export_c of a static int8 model atomically to `path`; returns its
// size. Throws tinyq::Error (nothing written) for any other model.
std::size_t write_c_export(const Sequential& model, const std::string& source,
                           const std::filesystem::path& path);

}  // namespace tinyq
