#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "apps/plots.hpp"
#include "apps/svg_elements.hpp"
#include "apps/svg_plot.hpp"
#include "core/error.hpp"
#include "xml_check.hpp"

namespace {

using tinyq::test::xml_problem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// Well-formed, a standalone SVG root, and no NaN or infinity leaked into numbers.
void check_document(const std::string& svg) {
  CHECK(xml_problem(svg) == "");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"", 0) == 0);
  CHECK(svg.find("viewBox=\"0 0 ") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
}

bool is_nice_step(double step) {
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (std::abs(mantissa - m) < 1e-9 * m) return true;
  return false;
}

tinyq::Series series(std::string label, std::vector<double> x, std::vector<double> y) {
  tinyq::Series s;
  s.label = std::move(label);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

}  // namespace

TEST_CASE("xml_problem itself rejects broken documents") {
  CHECK(xml_problem("<a><b/></a>") == "");
  CHECK(xml_problem("<a><b></a>") != "");
  CHECK(xml_problem("<a>x < y</a>") != "");
  CHECK(xml_problem("<a>fish & chips</a>") != "");
  CHECK(xml_problem("<a t=\"<\"/>") != "");
  CHECK(xml_problem("<a/><b/>") != "");
}

TEST_CASE("xml_escape escapes markup characters") {
  CHECK(tinyq::xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  CHECK(tinyq::xml_escape("") == "");
}

TEST_CASE("xml_escape keeps valid UTF-8 and replaces what XML forbids") {
  CHECK(tinyq::xml_escape("\xC3\xA9t\xC3\xA9 \xE2\x88\x92 \xF0\x9F\x98\x80") ==
        "\xC3\xA9t\xC3\xA9 \xE2\x88\x92 \xF0\x9F\x98\x80");
  CHECK(tinyq::xml_escape("tab\there") == "tab\there");
  CHECK(tinyq::xml_escape(std::string("nul\0bell\a", 9)) == "nul?bell?");
  CHECK(tinyq::xml_escape("\xFF\xC3") == "??");       // invalid lead, truncated sequence
  CHECK(tinyq::xml_escape("\xC0\xAF") == "??");       // overlong '/'
  CHECK(tinyq::xml_escape("\xED\xA0\x80") == "???");  // a UTF-16 surrogate
  CHECK(tinyq::xml_escape("\xEF\xBF\xBF") == "???");  // U+FFFF is not an XML character
}

TEST_CASE("shorten cuts long labels at a character boundary and marks the cut") {
  using tinyq::svg::shorten;
  CHECK(shorten("short", 10) == "short");
  CHECK(shorten("exactly10!", 10) == "exactly10!");
  CHECK(shorten("abcdefghijk", 10) == "abcdefghi\u2026");
  // Nine two-byte characters kept whole, never half of one.
  const std::string e_acute = "\xC3\xA9";
  std::string many;
  for (int i = 0; i < 12; ++i) many += e_acute;
  const std::string cut = shorten(many, 10);
  CHECK(cut.size() == 9 * 2 + 3);
  CHECK(tinyq::xml_escape(cut) == cut);  // still valid UTF-8
}

TEST_CASE("nice_ticks uses a 1-2-5 step and covers the range") {
  const double ranges[][2] = {{0, 1},         {0.13, 0.87},  {-0.31, 0.29}, {3, 97},
                              {0, 1e-6},      {-2.5e7, 1e9}, {1, 1.001},    {-1e-3, -1e-4},
                              {0.72, 0.9814}, {0, 60000},    {0.5, 10.5}};
  for (const auto& r : ranges)
    for (std::size_t target : {2u, 5u, 6u, 10u}) {
      CAPTURE(r[0]);
      CAPTURE(r[1]);
      CAPTURE(target);
      const auto t = tinyq::nice_ticks(r[0], r[1], target);
      REQUIRE(t.size() >= 2);
      CHECK(t.size() <= target + 2);
      const double step = t[1] - t[0];
      CHECK(is_nice_step(step));
      for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == doctest::Approx(step));
      for (double v : t) CHECK(std::abs(v / step - std::round(v / step)) < 1e-6);
      CHECK(t.front() <= r[0] + 1e-12 * step);
      CHECK(t.back() >= r[1] - 1e-12 * step);
    }
}

TEST_CASE("nice_ticks places decimal ticks exactly") {
  const auto t = tinyq::nice_ticks(0, 0.6, 6);
  CHECK(t == std::vector<double>{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
}

TEST_CASE("nice_ticks handles degenerate bounds") {
  for (const auto& bounds : {std::pair{0.0, 0.0},
                             {5.0, 5.0},
                             {-3.0, -3.0},
                             {kNaN, 1.0},
                             {0.0, kInf},
                             {1e308, 1e308},
                             {-1e308, 1e308},
                             {1.0, std::nextafter(1.0, 2.0)},
                             {1e-320, 1e-320},
                             {0.0, 1e-310},
                             {4.0, 2.0}}) {
    const double lo = bounds.first, hi = bounds.second;
    CAPTURE(lo);
    CAPTURE(hi);
    const auto t = tinyq::nice_ticks(lo, hi, 6);
    REQUIRE(t.size() >= 2);
    CHECK(t.size() <= 8);
    for (double v : t) CHECK(std::isfinite(v));
    for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i] > t[i - 1]);
    if (std::isfinite(lo) && std::isfinite(hi) && std::abs(lo) <= 1e300 && std::abs(hi) <= 1e300) {
      CHECK(t.front() <= std::min(lo, hi));
      CHECK(t.back() >= std::max(lo, hi));
    }
  }
}

TEST_CASE("format_tick prints the decimals the step needs") {
  CHECK(tinyq::format_tick(0, 0.1) == "0");
  CHECK(tinyq::format_tick(3, 1) == "3");
  CHECK(tinyq::format_tick(20000, 5000) == "20000");
  CHECK(tinyq::format_tick(0.3, 0.1) == "0.3");
  CHECK(tinyq::format_tick(-0.25, 0.05) == "-0.25");
  CHECK(tinyq::format_tick(1.5, 0.5) == "1.5");
  CHECK(tinyq::format_tick(1.5e8, 5e7) == "1.5e+08");
  CHECK(tinyq::format_tick(2e-6, 1e-6) == "2e-06");
}

TEST_CASE("a line chart is a well-formed SVG with title, labels and legend") {
  tinyq::LineChart c;
  c.title = "loss <&> \"accuracy\"";
  c.x_label = "epoch";
  c.y_label = "loss";
  c.right_y_label = "accuracy (%)";
  c.series.push_back(series("train loss", {1, 2, 3, 4}, {2.3, 0.6, 0.4, 0.3}));
  c.series.push_back(series("held-out accuracy", {1, 2, 3, 4}, {90, 94, 96, 97}));
  c.series.back().right_axis = true;
  c.series.back().markers = true;
  const std::string svg = tinyq::render_line_chart(c);
  check_document(svg);
  CHECK(count(svg, "loss &lt;&amp;&gt; &quot;accuracy&quot;") == 2);  // <title> and heading
  CHECK(count(svg, ">epoch</text>") == 1);
  CHECK(count(svg, "class=\"y-axis\"") == 2);
  CHECK(count(svg, "<polyline") == 2);
  CHECK(count(svg, "<circle") == 4 + 1);  // markers, and one in the legend
  CHECK(count(svg, ">train loss</text>") == 1);
  CHECK(count(svg, ">held-out accuracy (right axis)</text>") == 1);
}

TEST_CASE("a line chart breaks lines at NaN and draws lone points as dots") {
  tinyq::LineChart c;
  c.series.push_back(series("a", {0, 1, 2, 3, 4, 5}, {1, 2, kNaN, 3, 4, 5}));
  c.series.push_back(series("b", {0, 1, kInf, 3}, {1, 1, 1, 1}));
  c.series.push_back(series("one point", {2}, {7}));
  const std::string svg = tinyq::render_line_chart(c);
  check_document(svg);
  CHECK(count(svg, "<polyline") == 3);
  CHECK(count(svg, "<circle") == 2);  // b's last point, and the single point
}

TEST_CASE("a line chart with no data, empty series or equal values is still valid") {
  tinyq::LineChart none;
  check_document(tinyq::render_line_chart(none));
  CHECK(tinyq::render_line_chart(none).find(">no data</text>") != std::string::npos);

  tinyq::LineChart empty;
  empty.series.push_back(series("empty", {}, {}));
  empty.series.push_back(series("not a number", {kNaN}, {kNaN}));
  check_document(tinyq::render_line_chart(empty));

  tinyq::LineChart flat;
  flat.series.push_back(series("flat", {3, 3, 3}, {0.5, 0.5, 0.5}));
  check_document(tinyq::render_line_chart(flat));

  tinyq::LineChart huge;
  huge.series.push_back(series("huge", {-1e308, 0, 1e308}, {1e-300, 1e300, -1e308}));
  check_document(tinyq::render_line_chart(huge));
}

TEST_CASE("a line chart uses explicit x ticks when given") {
  tinyq::LineChart c;
  c.series.push_back(series("per-tensor", {2, 4, 8}, {0.3, 0.9, 0.98}));
  c.x_ticks = {2, 3, 4, 8};
  const std::string svg = tinyq::render_line_chart(c);
  check_document(svg);
  for (const char* label : {">2</text>", ">3</text>", ">4</text>", ">8</text>"})
    CHECK(count(svg, label) == 1);
}

TEST_CASE("a line chart shortens legend labels that would not fit") {
  tinyq::LineChart c;
  const std::string label(200, 'w');
  c.series.push_back(series(label, {0, 1}, {0, 1}));
  const std::string svg = tinyq::render_line_chart(c);
  check_document(svg);
  CHECK(svg.find(label) == std::string::npos);
  CHECK(svg.find("www\u2026</text>") != std::string::npos);
}

TEST_CASE("a line chart rejects series whose x and y differ in length, and absurd sizes") {
  tinyq::LineChart c;
  c.series.push_back(series("bad", {1, 2, 3}, {1, 2}));
  CHECK_THROWS_AS(tinyq::render_line_chart(c), tinyq::Error);
  tinyq::LineChart tiny;
  tiny.width = 10;
  CHECK_THROWS_AS(tinyq::render_line_chart(tiny), tinyq::Error);
  tiny.width = kNaN;
  CHECK_THROWS_AS(tinyq::render_line_chart(tiny), tinyq::Error);
}

TEST_CASE("a histogram draws one line per finite level and bars within the bin count") {
  tinyq::Histogram h;
  h.title = "dense1.weight";
  h.x_label = "weight";
  for (int i = 0; i < 1000; ++i) h.values.push_back(std::sin(i * 0.37) * 0.2);
  h.values.push_back(kNaN);
  for (int q = -127; q <= 127; ++q) h.levels.push_back(q * 0.2 / 127);
  h.levels.push_back(kInf);
  h.bins = 40;
  h.levels_label = "int8 levels (255)";
  const std::string svg = tinyq::render_histogram(h);
  check_document(svg);
  CHECK(count(svg, "class=\"level\"") == 255);
  const std::size_t bars_begin = svg.find("class=\"bars\""),
                    bars_end = svg.find("</g>", bars_begin);
  const std::size_t bars = count(svg.substr(bars_begin, bars_end - bars_begin), "<rect");
  CHECK(bars >= 20);
  CHECK(bars <= 40);
  CHECK(count(svg, ">int8 levels (255)</text>") == 1);
}

TEST_CASE("a histogram of evenly spread values fills every bin") {
  tinyq::Histogram h;
  for (int i = 0; i < 1000; ++i) h.values.push_back(i * 0.001);
  h.bins = 10;
  const std::string svg = tinyq::render_histogram(h);
  check_document(svg);
  CHECK(count(svg, "<rect") == 1 + 10 + 1);  // background, bars, legend swatch
}

TEST_CASE("a histogram of equal, empty or huge values is still valid") {
  tinyq::Histogram equal;
  equal.values = {0.1, 0.1, 0.1};
  const std::string svg = tinyq::render_histogram(equal);
  check_document(svg);
  CHECK(count(svg, "<rect") == 1 + 1 + 1);  // background, the one bar, the legend swatch

  tinyq::Histogram empty;
  empty.bins = 0;
  check_document(tinyq::render_histogram(empty));
  CHECK(tinyq::render_histogram(empty).find(">no data</text>") != std::string::npos);

  tinyq::Histogram huge;
  huge.values = {-1e308, 1e308, kNaN, -kInf};
  huge.levels = {0};
  huge.bins = 100000;  // capped
  check_document(tinyq::render_histogram(huge));
}

TEST_CASE("panels are laid out in a grid of nested SVGs") {
  tinyq::Histogram h;
  h.values = {1, 2, 3};
  std::vector<std::string> panels(5, tinyq::render_histogram(h));
  const std::string svg = tinyq::render_panels(panels, 2, "weights & levels");
  check_document(svg);
  CHECK(count(svg, "<svg") == 6);
  CHECK(svg.find("width=\"960.00\" height=\"996.00\"") !=
        std::string::npos);  // 2 x 3 cells + title
  CHECK(svg.find("weights &amp; levels") != std::string::npos);

  check_document(tinyq::render_panels({}, 3, ""));
  CHECK_THROWS_AS(tinyq::render_panels(panels, 0, ""), tinyq::Error);
  CHECK_THROWS_AS(tinyq::render_panels({"<p>not svg</p>"}, 1, ""), tinyq::Error);
}

TEST_CASE("busiest_level counts the weights that round to each level and names the busiest") {
  // Levels -1, 0.1, 1: 0.02, -0.3 and 0.5 are nearest 0.1 (0.5 is 0.4 from
  // it, 0.5 from 1); -0.9 is nearest -1; 0.7 nearest 1. So 3 of 5 on 0.1.
  const std::vector<float> weights = {0.02f, -0.3f, 0.5f, -0.9f, 0.7f};
  const tinyq::BusiestLevel busiest = tinyq::busiest_level(weights, {-1.0, 0.1, 1.0});
  CHECK(busiest.level == 0.1);
  CHECK(busiest.share == doctest::Approx(0.6));
  CHECK(tinyq::busiest_level({}, {0.0}).share == 0.0);
  CHECK(tinyq::busiest_level(weights, {}).share == 0.0);
}
