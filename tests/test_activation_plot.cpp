// The --plot-activations figure (apps/activation_plot.hpp): its data are the
// observers' own histogram and ranges, and its SVG is well-formed and shows
// every range's numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "apps/activation_plot.hpp"
#include "apps/options.hpp"
#include "apps/static_int8_eval.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/sequential.hpp"
#include "xml_check.hpp"

using namespace tinyq;

namespace {

constexpr Observer all_observers[] = {Observer::minmax, Observer::percentile, Observer::mse,
                                      Observer::entropy};

// ReLU-like values: 70% exact zeros, the rest uniform in [0, 4), one at 20.
std::vector<float> relu_like(std::size_t n) {
  Rng rng(5);
  std::vector<float> values(n, 0.0f);
  for (std::size_t i = 0; i < n; ++i)
    if (rng.uniform(0.0f, 1.0f) >= 0.7f) values[i] = rng.uniform(0.0f, 4.0f);
  values[n / 2] = 20.0f;
  return values;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// The text of <g class="NAME"> ... </g>.
std::string group(const std::string& svg, const std::string& name) {
  const auto start = svg.find("<g class=\"" + name + "\"");
  REQUIRE(start != std::string::npos);
  return svg.substr(start, svg.find("</g>", start) - start);
}

}  // namespace

TEST_CASE("activation_figure bins a hand-worked example") {
  // Five bins of width 2 over [0, 10]: 0, 0, 0 and 1 in the first, 2 and 3
  // in the second, 10 (the top edge) in the last.
  const std::vector<float> values = {0, 0, 0, 1, 2, 3, 10};
  const ActivationFigure figure = activation_figure(values, {Observer::minmax}, 5);
  CHECK(figure.lo == 0.0);
  CHECK(figure.hi == 10.0);
  CHECK(figure.counts == std::vector<double>{4, 2, 0, 0, 1});
  CHECK(figure.values == 7);
  CHECK(figure.zeros == doctest::Approx(3.0 / 7.0));
  REQUIRE(figure.ranges.size() == 1);
  CHECK(figure.ranges[0].range.hi == 10.0f);
  CHECK(figure.ranges[0].clipped == 0.0);
}

TEST_CASE("activation_figure's histogram and ranges are the observers' own") {
  const std::vector<float> values = relu_like(20000);
  const std::vector<Observer> observers(std::begin(all_observers), std::end(all_observers));
  const ActivationFigure figure = activation_figure(values, observers, 64);
  CHECK(figure.lo == 0.0);
  CHECK(figure.hi == 20.0);
  CHECK(figure.counts == histogram_counts(values, 0.0, 20.0, 64));
  CHECK(std::accumulate(figure.counts.begin(), figure.counts.end(), 0.0) == 20000.0);
  const auto zeros = std::count(values.begin(), values.end(), 0.0f);
  CHECK(figure.zeros == doctest::Approx(double(zeros) / 20000.0));
  REQUIRE(figure.ranges.size() == 4);
  for (std::size_t k = 0; k < 4; ++k) {
    const ObserverRange& r = figure.ranges[k];
    CAPTURE(to_string(r.observer));
    CHECK(r.observer == observers[k]);
    const ActivationRange expected = observe_range(observers[k], values);
    CHECK(r.range.lo == expected.lo);
    CHECK(r.range.hi == expected.hi);
    CHECK(r.quantization == u8_quantization(expected));
    const auto outside = std::count_if(values.begin(), values.end(),
                                       [&](float v) { return v < expected.lo || v > expected.hi; });
    CHECK(r.clipped == double(outside) / 20000.0);
    CHECK_FALSE(r.accuracy.has_value());
  }
  CHECK(figure.ranges[0].clipped == 0.0);  // minmax clips nothing
  CHECK(figure.ranges[1].clipped > 0.0);   // percentile clips at least the outlier
  CHECK(figure.ranges[1].range.hi < 4.0f);
}

TEST_CASE("activation_figure of all-zero values and of bad ones") {
  const std::vector<float> zeros(10, 0.0f);
  const ActivationFigure figure = activation_figure(zeros, {Observer::entropy}, 4);
  CHECK(figure.lo == 0.0);
  CHECK(figure.hi == 1.0);
  CHECK(figure.counts == std::vector<double>{10, 0, 0, 0});
  CHECK(figure.zeros == 1.0);
  CHECK_THROWS_AS(activation_figure(std::vector<float>{}, {Observer::minmax}, 4), Error);
  CHECK_THROWS_AS(activation_figure(std::vector<float>{1.0f, std::nanf("")}, {}, 4), Error);
  CHECK_THROWS_AS(activation_figure(zeros, {}, 0), Error);
  CHECK_THROWS_AS(plot_activation_ranges(ActivationFigure{}, "layer 0", 1), Error);
}

TEST_CASE("the activation plot is well-formed SVG with a bar per busy bin and every range") {
  const std::vector<float> values = relu_like(5000);
  const std::vector<Observer> observers(std::begin(all_observers), std::end(all_observers));
  ActivationFigure figure = activation_figure(values, observers, 80);
  figure.ranges[2].accuracy = 0.915;
  const std::string svg = plot_activation_ranges(figure, "layer 0 <Dense> & ReLU", 512);
  CHECK(test::xml_problem(svg) == "");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  CHECK(svg.find("layer 0 &lt;Dense&gt; &amp; ReLU, 512 images") != std::string::npos);
  const auto busy =
      std::count_if(figure.counts.begin(), figure.counts.end(), [](double c) { return c > 0.0; });
  CHECK(count(group(svg, "bars"), "<rect") == std::size_t(busy));
  // One-signed values: a line at each high end and a bar across each range.
  CHECK(count(group(svg, "ranges"), "<line") == 8);
  CHECK(svg.find("minmax: [0, 20], scale 0.07843, zero point 0, clips 0 values") !=
        std::string::npos);
  CHECK(svg.find("model accuracy 91.50%") != std::string::npos);
  for (const Observer o : observers) {
    std::string entry = ">";  // appended: a chain of + trips a false -Wrestrict in g++ 12
    entry.append(to_string(o)).append(": [");
    CHECK(svg.find(entry) != std::string::npos);
  }
}

TEST_CASE("the activation plot marks both ends of ranges that straddle 0") {
  Rng rng(6);
  std::vector<float> values(3000);
  for (float& v : values) v = rng.uniform(-2.0f, 3.0f);
  const ActivationFigure figure = activation_figure(values, {Observer::minmax, Observer::mse}, 40);
  CHECK(figure.lo < -1.9);
  const std::string svg = plot_activation_ranges(figure, "layer 2", 100);
  CHECK(test::xml_problem(svg) == "");
  CHECK(count(group(svg, "ranges"), "<line") == 6);  // lo, hi and a bar per observer
}

TEST_CASE("--plot-layer takes a hidden Dense, by default the first") {
  const Sequential model = make_mlp(8, {5, 4}, 3, 2);  // Dense ReLU Dense ReLU Dense
  CHECK(activation_plot_layer(model, {"a.svg", std::nullopt}) == 0);
  CHECK(activation_plot_layer(model, {"a.svg", 2}) == 2);
  CHECK_THROWS_WITH_AS(activation_plot_layer(model, {"a.svg", 1}),
                       "option --plot-layer: layer 1 is ReLU, whose output no observer sees "
                       "(expected a hidden Dense: 0, 2)",
                       UsageError);
  CHECK_THROWS_AS(activation_plot_layer(model, {"a.svg", 4}), UsageError);  // the scores
  CHECK_THROWS_WITH_AS(
      activation_plot_layer(model, {"a.svg", 5}),
      "option --plot-layer: layer 5 is out of range (the model has 5 layers, 0..4)", UsageError);
  const Sequential linear = make_mlp(8, {}, 3, 2);
  CHECK_THROWS_AS(activation_plot_layer(linear, {"a.svg", std::nullopt}), UsageError);
}
