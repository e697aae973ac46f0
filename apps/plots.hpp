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

// For each Dense of float_model, the histogram of its float weights with the
// quantization levels of the same layer in quantized_model drawn over it;
// then accuracy and size against bits for every series of the sweep.
// float_accuracy and float_bytes draw the float model as a reference line.
std::string plot_quantization(const Sequential& float_model, const Sequential& quantized_model,
                              const std::vector<SweepPoint>& sweep, double float_accuracy,
                              double float_bytes);

}  // namespace tinyq
