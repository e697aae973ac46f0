// One layer's calibration activations and the observers' ranges over them.
#include "apps/activation_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "apps/svg_elements.hpp"
#include "core/error.hpp"

namespace tinyq {

using namespace svg;

namespace {

struct ObserverStyle {
  const char* colour;
  const char* dashes;  // stroke-dasharray: overlapping lines stay distinguishable
};

ObserverStyle style_of(Observer observer) {
  // The Tableau colours of the other plots, one per observer.
  switch (observer) {
    case Observer::minmax:
      return {"#1f77b4", "none"};
    case Observer::percentile:
      return {"#ff7f0e", "7 4"};
    case Observer::mse:
      return {"#2ca02c", "2 3"};
    case Observer::entropy:
      return {"#d62728", "9 3 2 3"};
  }
  return {"#444444", "none"};
}

// "%.4g" of a real number, "-0" shown as "0".
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v == 0.0 ? 0.0 : v);
  return buf;
}

std::string legend_text(const ObserverRange& r, std::size_t values) {
  char share[64];
  std::snprintf(share, sizeof share, "%.0f values (%.4f%%)", r.clipped * double(values),
                100.0 * r.clipped);
  std::string text = to_string(r.observer) + ": [" + short_number(r.range.lo) + ", " +
                     short_number(r.range.hi) + "], scale " + short_number(r.quantization.scale) +
                     ", zero point " + std::to_string(r.quantization.zero_point) + ", clips " +
                     share;
  if (r.accuracy) {
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.2f%%", 100.0 * *r.accuracy);
    text += std::string(", model accuracy ") + accuracy;
  }
  return text;
}

// A log10 count axis from just under 1 (so a bin of one value still shows a
// sliver) to the decade above the largest count, a tick per decade.
Axis log_count_axis(double max_count) {
  Axis a;
  const int decades =
      std::max(1, static_cast<int>(std::ceil(std::log10(std::max(1.0, max_count)))));
  a.lo = -0.3;
  a.hi = decades;
  for (int d = 0; d <= decades; ++d) {
    a.ticks.push_back(d);
    a.labels.push_back(d <= 3 ? std::to_string(static_cast<long>(std::pow(10.0, d)))
                              : "1e" + std::to_string(d));
  }
  return a;
}

}  // namespace

ActivationFigure activation_figure(std::span<const float> values,
                                   const std::vector<Observer>& observers, std::size_t bins) {
  if (bins == 0) throw Error("activation_figure: bins must be at least 1, found 0");
  ActivationFigure figure;
  const ActivationRange span = observe_range(Observer::minmax, values);  // checks the values
  figure.values = values.size();
  figure.lo = span.lo;
  figure.hi = span.hi > span.lo ? double(span.hi) : double(span.lo) + 1.0;
  figure.counts = histogram_counts(values, figure.lo, figure.hi, bins);
  figure.zeros = double(std::count(values.begin(), values.end(), 0.0f)) / double(values.size());
  for (const Observer observer : observers) {
    ObserverRange r;
    r.observer = observer;
    r.range = observe_range(observer, values);
    r.quantization = u8_quantization(r.range);
    const auto outside = std::count_if(values.begin(), values.end(),
                                       [&](float v) { return v < r.range.lo || v > r.range.hi; });
    r.clipped = double(outside) / double(values.size());
    figure.ranges.push_back(r);
  }
  return figure;
}

std::string plot_activation_ranges(const ActivationFigure& figure, const std::string& subject,
                                   std::size_t calibration_images) {
  if (figure.counts.empty() || !(figure.hi > figure.lo))
    throw Error(
        "plot_activation_ranges: the figure has no histogram (make it with "
        "activation_figure)");
  const double width = 860;
  const double legend_rows = 1.0 + double(figure.ranges.size());
  const double height = 430 + 18 * legend_rows;
  // The bars of the ranges sit in a strip above the histogram's tallest bar.
  const double strip = 12 + 14 * double(figure.ranges.size());
  const Axis y_probe =
      log_count_axis(*std::max_element(figure.counts.begin(), figure.counts.end()));
  Frame f{40 + static_cast<double>(y_probe.widest_label()) * kCharWidth, 42, width - 24,
          height - 60 - 18 * legend_rows};
  Extent xs;
  xs.add(figure.lo);
  xs.add(figure.hi);
  Axis x = make_axis(xs, tick_target(f.right - f.left, 80), true);
  x.p0 = f.left;
  x.p1 = f.right;
  Axis y = y_probe;
  y.p0 = f.bottom;
  y.p1 = f.top + strip;

  std::string out =
      open_svg(width, height,
               "static int8 calibration: " + subject + ", " + std::to_string(calibration_images) +
                   " images, each observer's range");
  draw_grid(out, x, y, f);
  out += "<g class=\"bars\" fill=\"#8c8c8c\" fill-opacity=\"0.6\">\n";
  const double bin_width = (figure.hi - figure.lo) / double(figure.counts.size());
  for (std::size_t i = 0; i < figure.counts.size(); ++i) {
    if (figure.counts[i] == 0.0) continue;
    const double left = x(figure.lo + double(i) * bin_width);
    const double right = x(figure.lo + double(i + 1) * bin_width);
    const double top = y(std::log10(figure.counts[i]));
    put(out, {"<rect x=\"", num(left), "\" y=\"", num(top), "\" width=\"",
              num(std::max(right - left, 0.5)), "\" height=\"", num(f.bottom - top), "\"/>\n"});
  }
  out += "</g>\n";

  out += "<g class=\"ranges\">\n";
  for (std::size_t k = 0; k < figure.ranges.size(); ++k) {
    const ObserverRange& r = figure.ranges[k];
    const ObserverStyle s = style_of(r.observer);
    std::string attrs;
    put(attrs,
        {"stroke=\"", s.colour, "\" stroke-width=\"2\" stroke-dasharray=\"", s.dashes, "\""});
    line(out, x(r.range.hi), f.top, x(r.range.hi), f.bottom, attrs);
    // The low end is drawn where it is not the histogram's own 0 edge.
    if (r.range.lo != 0.0f || figure.lo < 0.0)
      line(out, x(r.range.lo), f.top, x(r.range.lo), f.bottom, attrs);
    const double bar_y = f.top + 14 + 14 * double(k);
    std::string bar;
    put(bar, {"stroke=\"", s.colour, "\" stroke-width=\"4\""});
    line(out, x(r.range.lo), bar_y, x(r.range.hi), bar_y, bar);
    std::string label;
    put(label, {"font-size=\"10\" fill=\"", s.colour, "\""});
    text(out, x(r.range.lo) + 4, bar_y - 3, to_string(r.observer), label);
  }
  out += "</g>\n";
  draw_x_axis(out, x, f, "activation value (real, before quantization)");
  draw_y_axis(out, y, f, false, "values per bin (log scale)");

  // The legend, one entry a row, each range's line drawn as in the plot.
  char zeros[48];
  std::snprintf(zeros, sizeof zeros, "%.1f%% exactly 0", 100.0 * figure.zeros);
  std::vector<LegendEntry> bars = {{std::to_string(figure.values) + " activations in " +
                                        std::to_string(figure.counts.size()) + " bins (" + zeros +
                                        ")",
                                    "#8c8c8c", LegendEntry::kBar, false}};
  double legend_y = f.bottom + 62;
  draw_legend(out, bars, f.left, legend_y, false);
  out += "<g class=\"legend\">\n";
  for (const ObserverRange& r : figure.ranges) {
    legend_y += 18;
    const ObserverStyle s = style_of(r.observer);
    std::string attrs;
    put(attrs,
        {"stroke=\"", s.colour, "\" stroke-width=\"2\" stroke-dasharray=\"", s.dashes, "\""});
    line(out, f.left, legend_y - 4, f.left + 20, legend_y - 4, attrs);
    text(out, f.left + 26, legend_y, legend_text(r, figure.values));
  }
  out += "</g>\n";
  return out + "</svg>\n";
}

}  // namespace tinyq
