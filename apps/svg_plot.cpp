// SVG rendering for apps/svg_plot.hpp.
//
// A data value v on an axis with range [lo, hi] goes to the pixel
//   p = p0 + (p1 - p0) * (v - lo) / (hi - lo),
// where p0 is the pixel of lo and p1 that of hi. SVG's y axis points down, so
// for a y axis p0 is the bottom of the plot and p1 its top. Ranges always come
// from nice_ticks, which never returns lo == hi, so the division is safe.
#include "apps/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <limits>

#include "core/error.hpp"

namespace tinyq {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr double kCharWidth = 7;  // rough advance of one 12 px sans-serif character
constexpr std::size_t kMaxLegendChars = 40;
// Finite data beyond +-kHuge is clamped so that no range arithmetic overflows:
// hi - lo stays below 2e300, far from the double limit of 1.8e308.
constexpr double kHuge = 1e300;

// Appends pieces to out. (Chains of std::string + std::string trip a false
// -Wrestrict in g++ 12, and appending also saves the temporaries.)
void put(std::string& out, std::initializer_list<std::string_view> pieces) {
  for (std::string_view p : pieces) out += p;
}

std::string num(double pixel) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", pixel);
  return buf;
}

// Characters, not bytes, of UTF-8 text: count the bytes that do not continue
// a multi-byte sequence.
std::size_t text_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string shorten(const std::string& s) {
  if (text_length(s) <= kMaxLegendChars) return s;
  std::size_t chars = 0, cut = 0;
  while (cut < s.size() && !(chars == kMaxLegendChars - 1 && (s[cut] & 0xC0) != 0x80)) {
    if ((s[cut] & 0xC0) != 0x80) ++chars;
    ++cut;
  }
  return s.substr(0, cut) + "\u2026";
}

void check_size(double width, double height, const char* where) {
  if (!(width >= 200 && width <= 20000 && height >= 150 && height <= 20000))
    throw Error(std::string(where) + ": size " + num(width) + " x " + num(height) +
                " is outside 200..20000 x 150..20000 pixels");
}

// Extent of the finite values seen, clamped to +-kHuge.
struct Extent {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    v = std::clamp(v, -kHuge, kHuge);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

struct Axis {
  std::vector<double> ticks;
  std::vector<std::string> labels;
  double lo = 0, hi = 1;
  double p0 = 0, p1 = 1;  // pixels of lo and hi
  double operator()(double v) const { return p0 + (p1 - p0) * (v - lo) / (hi - lo); }
  std::size_t widest_label() const {
    std::size_t w = 0;
    for (const auto& l : labels) w = std::max(w, l.size());
    return w;
  }
};

// An axis over the extent (or [0, 1] if it is empty). It normally runs from
// tick to tick, the range rounded out to the 1-2-5 grid. A `tight` axis keeps
// the data's own range plus a 3% margin and shows only the ticks inside it:
// for histograms, where empty space would cost resolution.
Axis make_axis(const Extent& e, std::size_t target, bool tight = false,
               const std::vector<double>& fixed_ticks = {}) {
  Axis a;
  auto nice = e.empty() ? nice_ticks(0, 1, target) : nice_ticks(e.lo, e.hi, target);
  a.lo = nice.front();
  a.hi = nice.back();
  const double margin = (e.hi - e.lo) * 0.03;
  if (tight && !e.empty() && e.hi - e.lo > std::abs(e.hi + e.lo) * 1e-9) {
    a.lo = e.lo - margin;
    a.hi = e.hi + margin;
    // Rounding the step up can leave fewer than two ticks inside; ask for more.
    for (std::size_t t = target; t <= 64; t *= 2) {
      nice = nice_ticks(a.lo, a.hi, t);
      if (std::count_if(nice.begin(), nice.end(),
                        [&](double v) { return v >= a.lo && v <= a.hi; }) >= 2)
        break;
    }
  }
  for (double t : fixed_ticks.empty() ? nice : fixed_ticks) {
    if (!std::isfinite(t) || (fixed_ticks.empty() && (t < a.lo || t > a.hi))) continue;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", t);
    a.ticks.push_back(std::clamp(t, -kHuge, kHuge));
    a.labels.push_back(fixed_ticks.empty() ? format_tick(t, nice[1] - nice[0]) : buf);
  }
  return a;
}

// The plot area in pixels, with its surroundings.
struct Frame {
  double left, top, right, bottom;
};

struct LegendEntry {
  std::string label, colour;
  enum Kind { kLine, kDashed, kBar, kFaintLine } kind = kLine;
  bool marker = false;
};

double legend_width(const std::vector<LegendEntry>& entries, double canvas_width) {
  std::size_t chars = 0;
  for (const auto& e : entries) chars = std::max(chars, text_length(shorten(e.label)));
  if (entries.empty()) return 0;
  return std::min(36 + static_cast<double>(chars) * kCharWidth, 0.4 * canvas_width);
}

void text(std::string& out, double x, double y, std::string_view s, std::string_view attrs = {}) {
  put(out, {"<text x=\"", num(x), "\" y=\"", num(y), "\"", attrs.empty() ? "" : " ", attrs, ">",
            xml_escape(s), "</text>\n"});
}

void line(std::string& out, double x1, double y1, double x2, double y2, std::string_view attrs) {
  put(out, {"<line x1=\"", num(x1), "\" y1=\"", num(y1), "\" x2=\"", num(x2), "\" y2=\"", num(y2),
            "\" ", attrs, "/>\n"});
}

void circle(std::string& out, double x, double y, const std::string& colour) {
  put(out, {"<circle cx=\"", num(x), "\" cy=\"", num(y), "\" r=\"3.5\" fill=\"", xml_escape(colour),
            "\"/>\n"});
}

// Entries one under the other from (x, y), or side by side when `across`.
void draw_legend(std::string& out, const std::vector<LegendEntry>& entries, double x, double y,
                 bool across) {
  out += "<g class=\"legend\">\n";
  for (const auto& e : entries) {
    const std::string colour = xml_escape(e.colour);
    if (e.kind == LegendEntry::kBar) {
      put(out, {"<rect x=\"", num(x), "\" y=\"", num(y - 9),
                "\" width=\"20\" height=\"10\" fill=\"", colour, "\" fill-opacity=\"0.6\"/>\n"});
    } else {
      std::string style;
      put(style, {"stroke=\"", colour, "\" stroke-width=\"2\""});
      if (e.kind == LegendEntry::kDashed) style += " stroke-dasharray=\"6 4\"";
      if (e.kind == LegendEntry::kFaintLine) style += " stroke-opacity=\"0.6\"";
      line(out, x, y - 4, x + 20, y - 4, style);
    }
    if (e.marker) circle(out, x + 10, y - 4, e.colour);
    const std::string label = shorten(e.label);
    text(out, x + 26, y, label);
    if (across)
      x += 46 + static_cast<double>(text_length(label)) * kCharWidth;
    else
      y += 18;
  }
  out += "</g>\n";
}

std::string open_svg(double width, double height, const std::string& title) {
  std::string out;
  put(out, {"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"", num(width),
            "\" height=\"", num(height), "\" viewBox=\"0 0 ", num(width), " ", num(height),
            "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            "font-size=\"12\" fill=\"#222222\">\n"});
  if (!title.empty()) put(out, {"<title>", xml_escape(title), "</title>\n"});
  put(out, {"<rect width=\"", num(width), "\" height=\"", num(height), "\" fill=\"white\"/>\n"});
  if (!title.empty())
    text(out, width / 2, 24, title, "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
  return out;
}

void draw_grid(std::string& out, const Axis& x, const Axis& y, const Frame& f) {
  out += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (double t : x.ticks) line(out, x(t), f.top, x(t), f.bottom, "");
  for (double t : y.ticks) line(out, f.left, y(t), f.right, y(t), "");
  out += "</g>\n";
}

void draw_x_axis(std::string& out, const Axis& x, const Frame& f, const std::string& label) {
  out += "<g class=\"x-axis\">\n";
  line(out, f.left, f.bottom, f.right, f.bottom, "stroke=\"#444444\"");
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const double px = x(x.ticks[i]);
    line(out, px, f.bottom, px, f.bottom + 5, "stroke=\"#444444\"");
    text(out, px, f.bottom + 18, x.labels[i], "text-anchor=\"middle\"");
  }
  if (!label.empty())
    text(out, (f.left + f.right) / 2, f.bottom + 36, label, "text-anchor=\"middle\"");
  out += "</g>\n";
}

// The y axis on the left edge of the frame, or on the right one.
void draw_y_axis(std::string& out, const Axis& y, const Frame& f, bool right,
                 const std::string& label) {
  const double edge = right ? f.right : f.left, dir = right ? 1 : -1;
  const std::string anchor = right ? "text-anchor=\"start\"" : "text-anchor=\"end\"";
  out += "<g class=\"y-axis\">\n";
  line(out, edge, f.top, edge, f.bottom, "stroke=\"#444444\"");
  for (std::size_t i = 0; i < y.ticks.size(); ++i) {
    const double py = y(y.ticks[i]);
    line(out, edge, py, edge + 5 * dir, py, "stroke=\"#444444\"");
    text(out, edge + 8 * dir, py + 4, y.labels[i], anchor);
  }
  if (!label.empty()) {
    const double lx = edge + dir * (18 + static_cast<double>(y.widest_label()) * kCharWidth);
    const double ly = (f.top + f.bottom) / 2;
    put(out, {"<text transform=\"translate(", num(lx), ",", num(ly), ") rotate(",
              right ? "90" : "-90", ")\" text-anchor=\"middle\">", xml_escape(label), "</text>\n"});
  }
  out += "</g>\n";
}

std::size_t tick_target(double pixels, double pixels_per_tick) {
  return static_cast<std::size_t>(std::clamp(pixels / pixels_per_tick, 2.0, 10.0));
}

void no_data(std::string& out, const Frame& f) {
  text(out, (f.left + f.right) / 2, (f.top + f.bottom) / 2, "no data",
       "text-anchor=\"middle\" fill=\"#888888\"");
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
      legend.push_back({s.label + (s.right_axis ? " (right axis)" : ""), colour,
                        s.dashed ? LegendEntry::kDashed : LegendEntry::kLine, s.markers});
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
  const double legend_w = legend_width(legend, chart.width);
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

  std::vector<LegendEntry> legend;
  if (finite > 0) legend.push_back({h.values_label, "#4c78a8", LegendEntry::kBar, false});
  if (drawn_levels > 0)
    legend.push_back({h.levels_label.empty() ? "levels" : h.levels_label, "#d62728",
                      LegendEntry::kFaintLine, false});

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
  count_extent.add(static_cast<double>(*std::max_element(counts.begin(), counts.end())));
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

// Choose the step first: with `target` intervals the step would be
// raw = (hi - lo) / target; round it up to the next 1, 2, 5 or 10 times a power
// of ten, so the step is at least raw and (hi - lo) / step <= target. Ticks
// are then the multiples of the step from floor(lo / step) to ceil(hi / step),
// which adds at most one more interval.
std::vector<double> nice_ticks(double lo, double hi, std::size_t target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  lo = std::clamp(lo, -kHuge, kHuge);
  hi = std::clamp(hi, -kHuge, kHuge);
  const double n = static_cast<double>(std::clamp<std::size_t>(target, 1, 50));
  // A range that is empty, or too thin to show against its distance from 0,
  // is widened around its centre (else the tick index lo / step would exceed
  // the 2^53 integers a double holds exactly).
  const double centre = (lo + hi) / 2;
  if (hi - lo <= std::abs(centre) * 1e-12) {
    const double pad = std::abs(centre) < 1e-200 ? 1 : std::abs(centre) / 10;
    lo = centre - pad;
    hi = centre + pad;
  }
  const double raw = std::max((hi - lo) / n, 1e-200);
  double exponent = std::floor(std::log10(raw));
  if (raw / std::pow(10.0, exponent) >= 10) exponent += 1;  // log10 rounded down
  const double base = std::pow(10.0, exponent);
  double mantissa = 10;
  for (double m : {1.0, 2.0, 5.0})
    if (m * base >= raw) {
      mantissa = m;
      break;
    }
  // i * mantissa * 10^exponent; dividing by 10^-exponent keeps 0.1-steps exact
  // to the last bit (3 * 0.1 is 0.30000000000000004, 3 / 10 is 0.3).
  auto tick = [&](double i) {
    return exponent >= 0 ? i * mantissa * base : i * mantissa / std::pow(10.0, -exponent);
  };
  const double step = mantissa * base;
  std::vector<double> ticks;
  for (double i = std::floor(lo / step); i <= std::ceil(hi / step); ++i) ticks.push_back(tick(i));
  return ticks;
}

std::string format_tick(double value, double step) {
  char buf[48];
  step = std::abs(step);
  if (value == 0) return "0";
  if (!std::isfinite(value) || !std::isfinite(step) || step == 0) {
    std::snprintf(buf, sizeof buf, "%g", value);
  } else if (step >= 1e-4 && std::abs(value) < 1e6) {
    // Decimals down to the step's leading digit (steps are 1, 2 or 5 x 10^k).
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  } else {
    const int digits = static_cast<int>(std::floor(std::log10(std::abs(value))) -
                                        std::floor(std::log10(step)) + 1);
    std::snprintf(buf, sizeof buf, "%.*e", std::clamp(digits, 1, 15) - 1, value);
  }
  return buf;
}

// XML 1.0 allows tab, newline, carriage return and every Unicode scalar value
// from U+0020 except U+FFFE and U+FFFF. In UTF-8 the lead byte gives the
// sequence length, and the ranges of the second byte below exclude overlong
// forms, surrogates (ED A0..BF) and values above U+10FFFF.
std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = [&](std::size_t k) {
      return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
    };
    const unsigned c = b(0);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    bool valid = len > 0 && (len == 1 || (b(1) >= lo && b(1) <= hi));
    for (std::size_t k = 2; valid && k < len; ++k) valid = b(k) >= 0x80 && b(k) <= 0xBF;
    if (len == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r') valid = false;
    if (len == 3 && c == 0xEF && b(1) == 0xBF && b(2) >= 0xBE) valid = false;  // U+FFFE, U+FFFF
    if (!valid) {
      out += '?';
      ++i;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace tinyq
