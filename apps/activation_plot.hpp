// The figure quantize_eval --plot-activations draws: one layer's activations
// over the calibration images, as a histogram with log-scale counts (a
// ReLU's outputs are mostly exact zeros, and the tail the observers argue
// about is a few values per bin), and over it the range [lo, hi] each static
// int8 observer chose for them.
//
// The data comes from the observers' own code (quant/static_int8/
// observers.hpp): the histogram is histogram_counts, the ranges are
// observe_range and u8_quantization, on the values observed_activations
// gives, so the figure shows what calibration saw.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "quant/static_int8/observers.hpp"

namespace tinyq {

struct ObserverRange {
  Observer observer = Observer::minmax;
  ActivationRange range;
  U8Quantization quantization;
  double clipped = 0.0;            // share of the values outside [lo, hi]
  std::optional<double> accuracy;  // of the whole model calibrated so (0..1)
};

struct ActivationFigure {
  std::size_t values = 0;
  double zeros = 0.0;          // share of the values that are exactly 0
  double lo = 0.0, hi = 1.0;   // the histogram's span: min and max, with 0 (hi > lo)
  std::vector<double> counts;  // histogram_counts(values, lo, hi, bins)
  std::vector<ObserverRange> ranges;
};

// The histogram of `values` in `bins` bins over their min-max range and each
// observer's range (accuracy unset). Values that are all 0 get the span
// [0, 1]. Throws tinyq::Error for no values or a non-finite one (as
// observe_range does), or bins == 0.
ActivationFigure activation_figure(std::span<const float> values,
                                   const std::vector<Observer>& observers, std::size_t bins);

// The SVG document: bars of log10(count), each observer's range as vertical
// lines at its ends and a bar across it, and a legend with every range's
// numbers (lo, hi, scale, zero point, share clipped, model accuracy).
// `subject` names the values ("layer 0: Dense(784 -> 256) + ReLU"). Throws
// tinyq::Error for a figure without a histogram.
std::string plot_activation_ranges(const ActivationFigure& figure, const std::string& subject,
                                   std::size_t calibration_images);

}  // namespace tinyq
