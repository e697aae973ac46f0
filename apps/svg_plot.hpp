// Small, dependency-free SVG plots for the apps: line charts (optionally with
// a second y axis on the right), histograms with vertical marker lines drawn
// over them (the quantization levels), and a grid of such panels in one file.
//
// The output is standalone SVG 1.1 text that any browser shows: axes with
// 1-2-5 ticks, tick labels, axis labels, legend and title. All text is
// escaped for XML. Degenerate data never throws: empty series, one point,
// all-equal values, NaN/inf (skipped) and huge ranges all give a valid plot.
// Inconsistent arguments (x and y of different lengths, absurd sizes) throw
// tinyq::Error.
//
// Example:
//   LineChart chart;
//   chart.title = "training";
//   chart.x_label = "epoch";
//   chart.y_label = "loss";
//   Series& loss = chart.series.emplace_back();
//   loss.label = "train loss";
//   loss.x = epochs;
//   loss.y = losses;
//   const std::string svg = render_line_chart(chart);  // then write it to a .svg file
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tinyq {

// One curve. A point whose x or y is not finite is skipped and breaks the
// line there; a point with no neighbour is drawn as a dot.
struct Series {
  std::string label;         // legend text; empty leaves the series out of the legend
  std::vector<double> x, y;  // same length
  std::string colour;        // any SVG colour ("#d62728", "teal"); empty picks from a palette
  bool markers = false;      // a dot at every point (for sparse data such as a bits sweep)
  bool dashed = false;
  bool right_axis = false;  // plot against the second y axis, drawn on the right
};

struct LineChart {
  std::string title, x_label, y_label;
  std::string right_y_label;  // label of the second y axis, if any series uses it
  std::vector<Series> series;
  std::vector<double> x_ticks;  // empty: automatic 1-2-5 ticks; else exactly these
  double width = 640, height = 400;
};

struct Histogram {
  std::string title, x_label;
  std::vector<double> values;  // non-finite values are skipped
  std::size_t bins = 60;       // 0 picks one from the number of values
  std::string values_label = "values";
  std::vector<double> levels;  // vertical lines over the bars; many lines are drawn faintly
  std::string levels_label;
  double width = 480, height = 320;
};

std::string render_line_chart(const LineChart& chart);
std::string render_histogram(const Histogram& histogram);

// Lays out SVG documents made by the functions above in a grid, row by row,
// each in a cell as large as the largest panel, under a common title.
std::string render_panels(const std::vector<std::string>& panel_svgs, std::size_t columns,
                          const std::string& title);

}  // namespace tinyq
