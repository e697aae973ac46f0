// The pieces the plots of apps/svg_plot.hpp are drawn with: XML escaping,
// 1-2-5 ticks and their labels, and functions that append text, lines, axes
// and legends to an SVG document held in a std::string.
//
// A data value v on an axis with range [lo, hi] goes to the pixel
//   p = p0 + (p1 - p0) * (v - lo) / (hi - lo),
// where p0 is the pixel of lo and p1 that of hi. SVG's y axis points down, so
// for a y axis p0 is the bottom of the plot and p1 its top.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

// Tick positions t0 < t1 < ... with a constant step of 1, 2 or 5 times a power
// of ten, with t0 <= lo and t_last >= hi, and at most target + 1 intervals.
// lo == hi or non-finite bounds still give >= 2 ticks.
std::vector<double> nice_ticks(double lo, double hi, std::size_t target = 6);

// A tick label with as many decimals as the step needs: "0.25", "-3",
// "1.5e+08".
std::string format_tick(double value, double step);

// Escapes & < > " ' and replaces bytes that XML 1.0 does not allow (control
// characters, invalid UTF-8) with '?', so any label gives well-formed XML.
std::string xml_escape(std::string_view text);

namespace svg {

// Finite data beyond +-kHuge is clamped so that no range arithmetic overflows:
// hi - lo stays below 2e300, far from the double limit of 1.8e308.
constexpr double kHuge = 1e300;
constexpr double kCharWidth = 7;  // rough advance of one 12 px sans-serif character

// Appends pieces to out. (Chains of std::string + std::string trip a false
// -Wrestrict in g++ 12, and appending also saves the temporaries.)
void put(std::string& out, std::initializer_list<std::string_view> pieces);
std::string num(double pixel);                   // "%.2f"
std::size_t text_length(std::string_view utf8);  // in characters
// At most max_chars characters (at least 4), cut ones ending in an ellipsis.
std::string shorten(const std::string& label, std::size_t max_chars);

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
  double lo = 0, hi = 1;  // never equal
  double p0 = 0, p1 = 1;  // pixels of lo and hi
  double operator()(double v) const { return p0 + (p1 - p0) * (v - lo) / (hi - lo); }
  std::size_t widest_label() const {
    std::size_t w = 0;
    for (const auto& l : labels) w = std::max(w, l.size());
    return w;
  }
};

// An axis over the extent (or [0, 1] if it is empty) with about `target`
// intervals; its pixels p0, p1 are for the caller to set. It normally runs
// from tick to tick, the range rounded out to the 1-2-5 grid. A `tight` axis
// keeps the data's own range plus a 3% margin and shows only the ticks inside
// it: for histograms, where empty space would cost resolution. Non-empty
// fixed_ticks replace the automatic ones.
Axis make_axis(const Extent& e, std::size_t target, bool tight = false,
               const std::vector<double>& fixed_ticks = {});

// About one tick per pixels_per_tick, between 2 and 10.
std::size_t tick_target(double pixels, double pixels_per_tick);

// The plot area in pixels.
struct Frame {
  double left, top, right, bottom;
};

struct LegendEntry {
  std::string label, colour;
  enum Kind { kLine, kDashed, kBar, kFaintLine } kind = kLine;
  bool marker = false;
};

// The root <svg> start tag, <title>, white background and heading; the
// caller appends the content and "</svg>".
std::string open_svg(double width, double height, const std::string& title);

void text(std::string& out, double x, double y, std::string_view s, std::string_view attrs = {});
void line(std::string& out, double x1, double y1, double x2, double y2, std::string_view attrs);
void circle(std::string& out, double x, double y, const std::string& colour);
void no_data(std::string& out, const Frame& f);  // "no data" in the middle of the frame

void draw_grid(std::string& out, const Axis& x, const Axis& y, const Frame& f);
void draw_x_axis(std::string& out, const Axis& x, const Frame& f, const std::string& label);
// On the left edge of the frame, or on the right one.
void draw_y_axis(std::string& out, const Axis& y, const Frame& f, bool right,
                 const std::string& label);

// Width a column of these entries needs (0 for none).
double legend_width(const std::vector<LegendEntry>& entries);
// Entries one under the other from (x, y), or side by side when `across`.
void draw_legend(std::string& out, const std::vector<LegendEntry>& entries, double x, double y,
                 bool across);

}  // namespace svg
}  // namespace tinyq
