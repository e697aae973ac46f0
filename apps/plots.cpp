#include "apps/plots.hpp"

#include <algorithm>
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

std::string levels_label(const QuantizedMatrix& q) {
  std::string where = "tensor";
  if (q.format.granularity == Granularity::channel)
    where = "channel 0";
  else if (q.format.granularity == Granularity::group)
    where = "row 0 group 0";
  return std::to_string(q.format.bits) + "-bit grid (" + where + ")";
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
  for (auto& [name, s] : by_series) chart.series.push_back(std::move(s));
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

std::string plot_quantization(const Sequential& float_model, const Sequential& quantized_model,
                              const std::vector<SweepPoint>& sweep, double float_accuracy,
                              double float_bytes) {
  std::vector<std::string> panels;
  for (std::size_t i = 0; i < float_model.size() && i < quantized_model.size(); ++i) {
    const QuantizedMatrix* q = quantized_weight(quantized_model.layer(i));
    const StateDict float_state = float_model.layer(i).state();
    const StateTensor* weight = float_state.find("weight");
    if (!q || !weight || weight->dtype != Dtype::f32) continue;
    Histogram h;
    h.title = "layer " + std::to_string(i) + ": " + float_model.layer(i).describe() + " weights";
    h.x_label = "weight value";
    const std::vector<float> values = weight->floats();
    h.values.assign(values.begin(), values.end());
    h.values_label = "float32 weights";
    h.levels = first_block_levels(*q);
    h.levels_label = levels_label(*q);
    panels.push_back(render_histogram(h));
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
