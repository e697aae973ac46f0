#include "apps/plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "apps/svg_plot.hpp"
#include "nn/state_dict.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

std::string plot_training(const std::vector<EpochPoint>& history) {
  LineChart loss;
  loss.title = "Training loss";
  loss.x_label = "epoch";
  loss.y_label = "cross-entropy (mean over the epoch)";
  LineChart accuracy;
  accuracy.title = "Accuracy";
  accuracy.x_label = "epoch";
  accuracy.y_label = "accuracy (%)";
  Series loss_series, train, test;
  loss_series.label = "train loss";
  train.label = "train (augmented)";
  test.label = "held-out";
  for (const auto& p : history) {
    loss_series.x.push_back(p.epoch);
    loss_series.y.push_back(p.loss);
    train.x.push_back(p.epoch);
    train.y.push_back(100.0 * p.train_accuracy);
    test.x.push_back(p.epoch);
    test.y.push_back(100.0 * p.test_accuracy);
  }
  loss_series.markers = train.markers = test.markers = history.size() <= 30;
  if (history.size() <= 12) {  // whole epochs only
    loss.x_ticks = loss_series.x;
    accuracy.x_ticks = loss_series.x;
  }
  loss.series.push_back(std::move(loss_series));
  accuracy.series.push_back(std::move(train));
  accuracy.series.push_back(std::move(test));
  return render_panels({render_line_chart(loss), render_line_chart(accuracy)}, 2,
                       "train_mnist: loss and accuracy per epoch");
}

namespace {

// The values block 0 of a quantized matrix can represent: its grid.
//   asymmetric: q / s + m for q = 0 .. 2^bits - 1
//   symmetric:  q / s     for q = -(2^(bits-1) - 1) .. 2^(bits-1) - 1
std::vector<double> first_block_levels(const QuantizedMatrix& q) {
  std::vector<double> levels;
  const double scale = q.scales.at(0);
  if (q.format.scheme == Scheme::asymmetric) {
    const int top = (1 << q.format.bits) - 1;
    for (int code = 0; code <= top; ++code) levels.push_back(code / scale + q.offsets.at(0));
  } else {
    const int top = (1 << (q.format.bits - 1)) - 1;
    for (int code = -top; code <= top; ++code) levels.push_back(code / scale);
  }
  return levels;
}

// At most this many grid lines per histogram: 256 lines across a panel a few
// hundred pixels wide blur into one band, so wider grids are thinned to every
// k-th level (k a power of two, so the drawn lines stay evenly spaced).
constexpr std::size_t max_drawn_levels = 32;

std::size_t level_stride(std::size_t levels) {
  std::size_t stride = 1;
  while (levels > max_drawn_levels * stride) stride *= 2;
  return stride;
}

std::vector<double> every_kth(const std::vector<double>& levels, std::size_t stride) {
  std::vector<double> drawn;
  for (std::size_t i = 0; i < levels.size(); i += stride) drawn.push_back(levels[i]);
  return drawn;
}

std::string levels_label(const QuantizedMatrix& q, std::size_t stride) {
  std::string where = "tensor";
  if (q.format.granularity == Granularity::channel)
    where = "channel 0";
  else if (q.format.granularity == Granularity::group)
    where = "row 0 group 0";
  std::string label = std::to_string(q.format.bits) + "-bit grid (" + where + ")";
  if (stride > 1)
    label += ", 1 in " + std::to_string(stride);  // the legend has room for ~30 characters
  return label;
}

// True when series a and b have the same x and their y differ by under 1%
// of the chart's tallest value everywhere: drawn as they are, one line would
// hide the other (asymmetric per-tensor and symmetric per-channel sizes
// differ by a few hundred bytes of scales).
bool nearly_coincide(const Series& a, const Series& b, double tallest) {
  if (a.x != b.x || a.y.size() != b.y.size()) return false;
  for (std::size_t i = 0; i < a.y.size(); ++i)
    if (std::fabs(a.y[i] - b.y[i]) > 0.01 * tallest) return false;
  return true;
}

LineChart sweep_chart(const std::vector<SweepPoint>& sweep, const std::string& title,
                      const std::string& y_label, double reference, bool accuracy) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "bits per weight";
  chart.y_label = y_label;
  std::map<std::string, Series> by_series;
  std::vector<double> bits;
  for (const auto& p : sweep) {
    Series& s = by_series[p.series];
    s.label = p.series;
    s.markers = true;
    s.x.push_back(p.bits);
    s.y.push_back(accuracy ? 100.0 * p.accuracy : p.bytes / 1024.0);
    if (std::find(bits.begin(), bits.end(), double(p.bits)) == bits.end()) bits.push_back(p.bits);
  }
  std::sort(bits.begin(), bits.end());
  double tallest = std::fabs(reference);
  for (const auto& [name, s] : by_series)
    for (const double y : s.y) tallest = std::max(tallest, std::fabs(y));
  for (auto& [name, s] : by_series) {
    // A series lying on an earlier one is dashed, so both colours show.
    for (const Series& earlier : chart.series)
      s.dashed = s.dashed || nearly_coincide(s, earlier, tallest);
    chart.series.push_back(std::move(s));
  }
  if (!bits.empty()) {
    Series& ref = chart.series.emplace_back();
    ref.label = "float32";
    ref.dashed = true;
    ref.colour = "#555555";
    ref.x = {bits.front(), bits.back()};
    ref.y = {reference, reference};
  }
  chart.x_ticks = bits;
  return chart;
}

}  // namespace

BusiestLevel busiest_level(const std::vector<float>& weights, const std::vector<double>& levels) {
  BusiestLevel busiest;
  if (levels.empty() || weights.empty()) return busiest;
  std::vector<std::size_t> counts(levels.size(), 0);
  for (const float w : weights) {
    std::size_t nearest = 0;
    for (std::size_t k = 1; k < levels.size(); ++k)
      if (std::fabs(w - levels[k]) < std::fabs(w - levels[nearest])) nearest = k;
    ++counts[nearest];
  }
  const auto top = std::max_element(counts.begin(), counts.end()) - counts.begin();
  busiest.level = levels[std::size_t(top)];
  busiest.share = double(counts[std::size_t(top)]) / double(weights.size());
  return busiest;
}

std::string plot_quantization(const Sequential& float_model, const std::vector<GridPanel>& grids,
                              const std::vector<SweepPoint>& sweep, double float_accuracy,
                              double float_bytes) {
  std::vector<std::string> panels;
  for (std::size_t i = 0; i < float_model.size(); ++i) {
    const StateDict float_state = float_model.layer(i).state();
    const StateTensor* weight = float_state.find("weight");
    if (!weight || weight->dtype != Dtype::f32) continue;
    const std::vector<float> values = weight->floats();
    for (const GridPanel& grid : grids) {
      if (i >= grid.model->size()) continue;
      const QuantizedMatrix* q = quantized_weight(grid.model->layer(i));
      if (!q) continue;
      const std::vector<double> levels = first_block_levels(*q);
      const std::size_t stride = level_stride(levels.size());
      Histogram h;
      h.x_label = "weight value";
      h.width = 560;  // room in the legend for the grid's label
      h.values.assign(values.begin(), values.end());
      h.values_label = "float32 weights";
      h.levels = every_kth(levels, stride);
      h.levels_label = levels_label(*q, stride);
      // With one grid for the layer (per tensor), the share on the busiest
      // level is exact; with more, it is that of the drawn first block's grid.
      const BusiestLevel busiest = busiest_level(values, levels);
      char level[32];
      // A zero-exact grid's 0 comes back from float scale and offset within
      // float rounding of the range, not as exactly 0.0.
      if (std::fabs(busiest.level) <= 1e-6 * (levels.back() - levels.front()))
        std::snprintf(level, sizeof level, "0");
      else
        std::snprintf(level, sizeof level, "%+.3f", busiest.level);
      char title[200];
      std::snprintf(title, sizeof title, "layer %zu, %s: %.0f%% on %s", i, grid.label.c_str(),
                    100.0 * busiest.share, level);
      h.title = title;
      panels.push_back(render_histogram(h));
    }
  }
  if (!sweep.empty()) {
    panels.push_back(render_line_chart(sweep_chart(
        sweep, "Accuracy against bits", "test accuracy (%)", 100.0 * float_accuracy, true)));
    panels.push_back(render_line_chart(sweep_chart(
        sweep, "Model size against bits", "model file (KiB)", float_bytes / 1024.0, false)));
  }
  return render_panels(panels, 2, "quantize_eval: weights, quantization grid and the sweep");
}

}  // namespace tinyq
