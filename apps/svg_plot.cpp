// The charts of apps/svg_plot.hpp, laid out and drawn with the pieces of
// apps/svg_elements.hpp.
#include "apps/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "apps/svg_elements.hpp"
#include "core/error.hpp"

namespace tinyq {

using namespace svg;  // this file is the one user of the drawing pieces

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

void check_size(double width, double height, const char* where) {
  if (!(width >= 200 && width <= 20000 && height >= 150 && height <= 20000))
    throw Error(std::string(where) + ": size " + num(width) + " x " + num(height) +
                " is outside 200..20000 x 150..20000 pixels");
}

// Polylines through consecutive finite points; a lone finite point becomes a dot.
void draw_series(std::string& out, const Series& s, const std::string& colour, const Axis& x,
                 const Axis& y) {
  std::string style;
  put(style, {"fill=\"none\" stroke=\"", xml_escape(colour),
              "\" stroke-width=\"2\" stroke-linejoin=\"round\""});
  if (s.dashed) style += " stroke-dasharray=\"6 4\"";
  std::string points;
  std::size_t run = 0;
  double last_x = 0, last_y = 0;
  auto flush = [&] {
    if (run >= 2) put(out, {"<polyline ", style, " points=\"", points, "\"/>\n"});
    if (run == 1 && !s.markers) circle(out, last_x, last_y, colour);
    points.clear();
    run = 0;
  };
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
      flush();
      continue;
    }
    last_x = x(std::clamp(s.x[i], -kHuge, kHuge));
    last_y = y(std::clamp(s.y[i], -kHuge, kHuge));
    put(points, {run ? " " : "", num(last_x), ",", num(last_y)});
    ++run;
    if (s.markers) circle(out, last_x, last_y, colour);
  }
  flush();
}

}  // namespace

std::string render_line_chart(const LineChart& chart) {
  check_size(chart.width, chart.height, "render_line_chart");
  Extent xs, ys, ys_right;
  const bool uses_right = std::any_of(chart.series.begin(), chart.series.end(),
                                      [](const Series& s) { return s.right_axis; });
  // The legend column takes at most 40% of the width; longer labels are cut.
  const auto legend_chars = static_cast<std::size_t>((0.4 * chart.width - 36) / kCharWidth);
  std::vector<LegendEntry> legend;
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    if (s.x.size() != s.y.size())
      throw Error("render_line_chart: series '" + s.label + "' has " + std::to_string(s.x.size()) +
                  " x values but " + std::to_string(s.y.size()) + " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xs.add(s.x[i]);
      (s.right_axis ? ys_right : ys).add(s.y[i]);
    }
    const std::string colour = s.colour.empty() ? kPalette[k % std::size(kPalette)] : s.colour;
    if (!s.label.empty())
      legend.push_back({shorten(s.label + (s.right_axis ? " (right axis)" : ""), legend_chars),
                        colour, s.dashed ? LegendEntry::kDashed : LegendEntry::kLine, s.markers});
  }
  for (double t : chart.x_ticks) xs.add(t);

  const double top = chart.title.empty() ? 16 : 42;
  const double bottom = chart.height - (chart.x_label.empty() ? 30 : 48);
  const Axis y_probe = make_axis(ys, tick_target(bottom - top, 45));
  const Axis y2_probe = make_axis(ys_right, tick_target(bottom - top, 45));
  const double y_label_room = chart.y_label.empty() ? 0 : 20;
  Frame f{14 + y_label_room + static_cast<double>(y_probe.widest_label()) * kCharWidth, top, 0,
          bottom};
  double right_room = 20;
  if (uses_right)
    right_room = 16 + (chart.right_y_label.empty() ? 0 : 20) +
                 static_cast<double>(y2_probe.widest_label()) * kCharWidth;
  const double legend_w = legend_width(legend);
  f.right = chart.width - right_room - legend_w;

  Axis x = make_axis(xs, tick_target(f.right - f.left, 80), false, chart.x_ticks);
  x.p0 = f.left;
  x.p1 = f.right;
  Axis y = y_probe, y2 = y2_probe;
  y.p0 = y2.p0 = f.bottom;
  y.p1 = y2.p1 = f.top;

  std::string out = open_svg(chart.width, chart.height, chart.title);
  draw_grid(out, x, y, f);
  out += "<g class=\"data\">\n";
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    const std::string colour = s.colour.empty() ? kPalette[k % std::size(kPalette)] : s.colour;
    draw_series(out, s, colour, x, s.right_axis ? y2 : y);
  }
  out += "</g>\n";
  if (xs.empty()) no_data(out, f);
  draw_x_axis(out, x, f, chart.x_label);
  draw_y_axis(out, y, f, false, chart.y_label);
  if (uses_right) draw_y_axis(out, y2, f, true, chart.right_y_label);
  if (!legend.empty()) draw_legend(out, legend, chart.width - legend_w + 6, f.top + 10, false);
  return out + "</svg>\n";
}

std::string render_histogram(const Histogram& h) {
  check_size(h.width, h.height, "render_histogram");
  Extent xs;
  std::size_t finite = 0;
  for (double v : h.values) {
    xs.add(v);
    if (std::isfinite(v)) ++finite;
  }
  std::size_t drawn_levels = 0;
  for (double l : h.levels) {
    xs.add(l);
    if (std::isfinite(l)) ++drawn_levels;
  }
  std::size_t bins = h.bins;
  if (bins == 0) bins = static_cast<std::size_t>(std::sqrt(static_cast<double>(finite)));
  bins = std::clamp<std::size_t>(bins, 1, 1000);

  // The legend is one row under the plot: each entry gets its share of it.
  const auto legend_chars = static_cast<std::size_t>((h.width - 40) / 2 / kCharWidth - 7);
  std::vector<LegendEntry> legend;
  if (finite > 0)
    legend.push_back({shorten(h.values_label, legend_chars), "#4c78a8", LegendEntry::kBar, false});
  if (drawn_levels > 0)
    legend.push_back({shorten(h.levels_label.empty() ? "levels" : h.levels_label, legend_chars),
                      "#d62728", LegendEntry::kFaintLine, false});

  const double top = h.title.empty() ? 16 : 42;
  const double bottom = h.height - (h.x_label.empty() ? 30 : 48) - (legend.empty() ? 0 : 22);
  Frame f{0, top, h.width - 20, bottom};
  Axis x = make_axis(xs, tick_target(h.width - 100, 80), true);
  x.p1 = f.right;

  // Bins split the axis range [x.lo, x.hi] evenly; v lands in bin floor(t * bins)
  // where t = (v - lo) / (hi - lo) in [0, 1], the top edge going to the last bin.
  std::vector<std::size_t> counts(bins, 0);
  for (double v : h.values) {
    if (!std::isfinite(v)) continue;
    const double t = (std::clamp(v, -kHuge, kHuge) - x.lo) / (x.hi - x.lo);
    counts[std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, t) * bins))] += 1;
  }
  Extent count_extent;
  count_extent.add(0);
  count_extent.add(
      std::max(1.0, static_cast<double>(*std::max_element(counts.begin(), counts.end()))));
  Axis y = make_axis(count_extent, tick_target(bottom - top, 45));
  f.left = 34 + static_cast<double>(y.widest_label()) * kCharWidth;
  x.p0 = f.left;
  y.p0 = f.bottom;
  y.p1 = f.top;

  std::string out = open_svg(h.width, h.height, h.title);
  draw_grid(out, x, y, f);
  out += "<g class=\"bars\" fill=\"#4c78a8\" fill-opacity=\"0.6\">\n";
  const double bin_px = (f.right - f.left) / static_cast<double>(bins);
  for (std::size_t i = 0; i < bins; ++i) {
    if (counts[i] == 0) continue;
    const double py = y(static_cast<double>(counts[i]));
    put(out, {"<rect x=\"", num(f.left + static_cast<double>(i) * bin_px), "\" y=\"", num(py),
              "\" width=\"", num(bin_px), "\" height=\"", num(f.bottom - py), "\"/>\n"});
  }
  out += "</g>\n";
  // A dense grid (the 255 levels of int8 are a pixel or two apart) would hide
  // the bars: the closer the lines, the thinner and fainter they are drawn.
  Extent level_extent;
  for (double l : h.levels) level_extent.add(l);
  const double spacing = drawn_levels < 2 ? 100
                                          : (x(level_extent.hi) - x(level_extent.lo)) /
                                                static_cast<double>(drawn_levels - 1);
  put(out, {"<g class=\"levels\" stroke=\"#d62728\" stroke-width=\"", spacing < 4 ? "0.6" : "1.2",
            "\" stroke-opacity=\"", num(std::clamp(spacing / 12, 0.15, 0.8)), "\">\n"});
  for (double l : h.levels)
    if (std::isfinite(l)) {
      const double px = x(std::clamp(l, -kHuge, kHuge));
      line(out, px, f.top, px, f.bottom, "class=\"level\"");
    }
  out += "</g>\n";
  if (finite == 0) no_data(out, f);
  draw_x_axis(out, x, f, h.x_label);
  draw_y_axis(out, y, f, false, "count");
  if (!legend.empty()) draw_legend(out, legend, f.left, h.height - 12, true);
  return out + "</svg>\n";
}

std::string render_panels(const std::vector<std::string>& panel_svgs, std::size_t columns,
                          const std::string& title) {
  if (columns == 0) throw Error("render_panels: columns must be at least 1, found 0");
  // Each panel is one of our own documents: read its size from the root tag.
  struct Panel {
    std::size_t start;
    double width, height;
  };
  std::vector<Panel> panels;
  for (std::size_t i = 0; i < panel_svgs.size(); ++i) {
    const std::string& svg = panel_svgs[i];
    const std::size_t start = svg.find("<svg");
    const std::size_t end = svg.find('>', start);
    auto attribute = [&](const std::string& name) {
      const std::size_t at = svg.find(" " + name + "=\"", start);
      if (start == std::string::npos || end == std::string::npos || at > end) return -1.0;
      return std::strtod(svg.c_str() + at + name.size() + 3, nullptr);
    };
    const Panel p{start, attribute("width"), attribute("height")};
    if (!(p.width > 0 && p.width <= 20000 && p.height > 0 && p.height <= 20000))
      throw Error("render_panels: panel " + std::to_string(i) +
                  " is not an <svg> document with width and height in 1..20000");
    panels.push_back(p);
  }
  // Each column as wide as its widest panel, each row as tall as its tallest.
  const std::size_t cols = std::max<std::size_t>(1, std::min(columns, panels.size()));
  std::vector<double> col_x(cols + 1, 0), row_y((panels.size() + cols - 1) / cols + 1, 0);
  for (std::size_t i = 0; i < panels.size(); ++i) {
    col_x[i % cols + 1] = std::max(col_x[i % cols + 1], panels[i].width);
    row_y[i / cols + 1] = std::max(row_y[i / cols + 1], panels[i].height);
  }
  const double top = title.empty() ? 0 : 36;
  row_y[0] = top;
  for (std::size_t c = 1; c < col_x.size(); ++c) col_x[c] += col_x[c - 1];  // widths to edges
  for (std::size_t r = 1; r < row_y.size(); ++r) row_y[r] += row_y[r - 1];
  const double width = std::max(400.0, col_x.back());
  const double height = std::max(top + 60, row_y.back());

  std::string out = open_svg(width, height, title);
  if (panels.empty()) no_data(out, Frame{0, top, width, height});
  // A nested <svg> is its own viewport: giving it x and y places the panel.
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const double x = col_x[i % cols], y = row_y[i / cols];
    put(out, {"<svg x=\"", num(x), "\" y=\"", num(y), "\"",
              std::string_view(panel_svgs[i]).substr(panels[i].start + 4)});
  }
  return out + "</svg>\n";
}

}  // namespace tinyq
