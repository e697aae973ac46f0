// Implementation of apps/svg_elements.hpp.
#include "apps/svg_elements.hpp"

#include <cstdio>

namespace tinyq {
namespace svg {

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

std::string shorten(const std::string& s, std::size_t max_chars) {
  max_chars = std::max<std::size_t>(max_chars, 4);
  if (text_length(s) <= max_chars) return s;
  // Keep max_chars - 1 characters: stop at the lead byte of the next one.
  std::size_t chars = 0, cut = 0;
  while (cut < s.size() && !(chars == max_chars - 1 && (s[cut] & 0xC0) != 0x80)) {
    if ((s[cut] & 0xC0) != 0x80) ++chars;
    ++cut;
  }
  return s.substr(0, cut) + "\u2026";
}

Axis make_axis(const Extent& e, std::size_t target, bool tight,
               const std::vector<double>& fixed_ticks) {
  Axis a;
  auto nice = e.empty() ? nice_ticks(0, 1, target) : nice_ticks(e.lo, e.hi, target);
  a.lo = nice.front();
  a.hi = nice.back();
  if (tight && !e.empty() && e.hi - e.lo > std::abs(e.hi + e.lo) * 1e-9) {
    const double margin = (e.hi - e.lo) * 0.03;
    a.lo = e.lo - margin;
    a.hi = e.hi + margin;
    // Rounding the step up can leave fewer than two ticks inside; ask for more.
    for (std::size_t t = std::max<std::size_t>(target, 1); t <= 64; t *= 2) {
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

double legend_width(const std::vector<LegendEntry>& entries) {
  std::size_t chars = 0;
  for (const auto& e : entries) chars = std::max(chars, text_length(e.label));
  return entries.empty() ? 0 : 36 + static_cast<double>(chars) * kCharWidth;
}

void text(std::string& out, double x, double y, std::string_view s, std::string_view attrs) {
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
    text(out, x + 26, y, e.label);
    if (across)
      x += 46 + static_cast<double>(text_length(e.label)) * kCharWidth;
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

}  // namespace svg

// Choose the step first: with `target` intervals the step would be
// raw = (hi - lo) / target; round it up to the next 1, 2, 5 or 10 times a power
// of ten, so the step is at least raw and (hi - lo) / step <= target. Ticks
// are then the multiples of the step from floor(lo / step) to ceil(hi / step),
// which adds at most one more interval.
std::vector<double> nice_ticks(double lo, double hi, std::size_t target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) std::swap(lo, hi);
  lo = std::clamp(lo, -svg::kHuge, svg::kHuge);
  hi = std::clamp(hi, -svg::kHuge, svg::kHuge);
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
