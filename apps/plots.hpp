// The figures train_mnist --plot and quantize_eval --plot write, built from
// the generic charts in svg_plot.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nn/sequential.hpp"

namespace tinyq {

struct EpochPoint {
  double epoch, loss, train_accuracy, test_accuracy;
};

// Two panels: training loss per epoch, and train / held-out accuracy.
std::string plot_training(const std::vector<EpochPoint>& history);

// One point of a bits sweep: a scheme/granularity at one bit width.
struct SweepPoint {
  std::string series;  // "asymmetric/tensor", "symmetric/channel", ...
  int bits;
  double accuracy;  // 0..1
  double bytes;     // model file size
};

// A quantized version of the float model whose grids are drawn, and what
// to call its grid in the titles ("minmax", "zero-exact").
struct GridPanel {
  std::string label;
  const Sequential* model;  // not owned; same layers as the float model
};

// For each Dense of float_model, one histogram of its float weights per grid
// panel, with the levels of the same layer's first block in that panel's
// model drawn over it, and in the title the share of the weights that land on
// the busiest level, and that level; then accuracy and size
// against bits for every series of the sweep. float_accuracy and float_bytes
// draw the float model as a reference line.
std::string plot_quantization(const Sequential& float_model, const std::vector<GridPanel>& grids,
                              const std::vector<SweepPoint>& sweep, double float_accuracy,
                              double float_bytes);

// The share (0..1) of `weights` whose nearest level is the busiest one, and
// that level: how much of a layer one code takes.
struct BusiestLevel {
  double level = 0.0;
  double share = 0.0;
};
BusiestLevel busiest_level(const std::vector<float>& weights, const std::vector<double>& levels);

}  // namespace tinyq
