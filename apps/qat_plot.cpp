// Histograms of weights in grid steps, before and after QAT.
#include "apps/qat_plot.hpp"

#include <vector>

#include "apps/svg_plot.hpp"
#include "core/error.hpp"
#include "quant/fake_quant_dense.hpp"
#include "quant/grid.hpp"

namespace tinyq {

std::string plot_qat_weights(const Sequential& before, const Sequential& after) {
  if (before.size() != after.size())
    throw Error("plot_qat_weights: the models have " + std::to_string(before.size()) + " and " +
                std::to_string(after.size()) + " layers");
  std::vector<std::string> panels;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const auto* start = dynamic_cast<const FakeQuantDense*>(&before.layer(i));
    const auto* end = dynamic_cast<const FakeQuantDense*>(&after.layer(i));
    if (!start || !end) continue;
    const QuantFormat& format = end->format();
    std::vector<double> codes;
    for (int q = lowest_code(format.scheme, format.bits);
         q <= highest_code(format.scheme, format.bits); ++q)
      codes.push_back(q);
    for (const auto& [layer, when] :
         {std::pair{start, "before QAT"}, std::pair{end, "after QAT"}}) {
      Histogram h;
      h.title = "layer " + std::to_string(i) + " " + to_string(format) + ", " + when;
      h.x_label = "weight in grid steps, (w - offset) · scale";
      h.values = layer->grid_positions();
      h.bins = 80;
      h.values_label = "weights";
      h.levels = codes;
      h.levels_label = "codes";
      panels.push_back(render_histogram(h));
    }
  }
  if (panels.empty()) throw Error("plot_qat_weights: the models have no FakeQuantDense layer");
  return render_panels(panels, 2, "quantization-aware training: weights on their grid");
}

}  // namespace tinyq
