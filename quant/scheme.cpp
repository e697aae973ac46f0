// Parsing, printing and validating quantization formats.
#include "quant/scheme.hpp"

#include <bit>

#include "core/error.hpp"

namespace tinyq {

Scheme parse_scheme(std::string_view name) {
  if (name == "asymmetric") return Scheme::asymmetric;
  if (name == "symmetric") return Scheme::symmetric;
  if (name == "ternary") return Scheme::ternary;
  throw Error("unknown quantization scheme '" + std::string(name) +
              "': expected asymmetric, symmetric or ternary");
}

Granularity parse_granularity(std::string_view name) {
  if (name == "tensor") return Granularity::tensor;
  if (name == "channel") return Granularity::channel;
  if (name == "group") return Granularity::group;
  throw Error("unknown quantization granularity '" + std::string(name) +
              "': expected tensor, channel or group");
}

QuantizedKernel parse_kernel(std::string_view name) {
  if (name == "weight_only") return QuantizedKernel::weight_only;
  if (name == "dynamic_int8") return QuantizedKernel::dynamic_int8;
  throw Error("unknown quantized kernel '" + std::string(name) +
              "': expected weight_only or dynamic_int8");
}

std::string to_string(QuantizedKernel kernel) {
  return kernel == QuantizedKernel::weight_only ? "weight_only" : "dynamic_int8";
}

std::string to_string(Scheme scheme) {
  switch (scheme) {
    case Scheme::asymmetric:
      return "asymmetric";
    case Scheme::symmetric:
      return "symmetric";
    case Scheme::ternary:
      return "ternary";
  }
  return "?";
}

std::string to_string(Granularity granularity) {
  switch (granularity) {
    case Granularity::tensor:
      return "tensor";
    case Granularity::channel:
      return "channel";
    case Granularity::group:
      return "group";
  }
  return "?";
}

std::string format_tag(const QuantFormat& format) {
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "-" + std::string.
  std::string text = to_string(format.scheme);
  text += '/';
  text += to_string(format.granularity);
  if (format.granularity == Granularity::group) {
    text += '-';
    text += std::to_string(format.group_size);
  }
  text += '/';
  text += format.scheme == Scheme::ternary ? "1.58" : std::to_string(format.bits);
  return text;
}

std::string to_string(const QuantFormat& format) {
  return format_tag(format) + "-bit";
}

namespace {

// A decimal number without sign or leading zeros in [1, max], or 0.
std::size_t whole_number(std::string_view text, std::size_t max) {
  if (text.empty() || text.size() > 7 || text[0] == '0') return 0;
  std::size_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value <= max ? value : 0;
}

}  // namespace

QuantFormat parse_format_tag(std::string_view tag) {
  const auto first = tag.find('/');
  const auto last = tag.rfind('/');
  if (first == std::string_view::npos || first == last)
    throw Error("expected scheme/granularity/bits, as in asymmetric/group-64/4");
  QuantFormat format;
  format.scheme = parse_scheme(tag.substr(0, first));
  const std::string_view granularity = tag.substr(first + 1, last - first - 1);
  format.group_size = 0;
  if (granularity.substr(0, 6) == "group-") {
    format.granularity = Granularity::group;
    format.group_size = whole_number(granularity.substr(6), std::size_t{1} << 20);
    if (format.group_size == 0)
      throw Error("bad group size in \"" + std::string(granularity) + "\"");
  } else if (granularity == "group") {
    throw Error("group granularity needs its size, as in group-64");
  } else {
    format.granularity = parse_granularity(granularity);
  }
  if (format.scheme == Scheme::ternary) {
    if (tag.substr(last + 1) != "1.58")
      throw Error("a ternary format's bit width is 1.58, found \"" +
                  std::string(tag.substr(last + 1)) + "\"");
    format.bits = ternary_bits;
    validate(format);
    return format;
  }
  const std::size_t bits = whole_number(tag.substr(last + 1), 64);
  if (bits == 0) throw Error("bad bit width \"" + std::string(tag.substr(last + 1)) + "\"");
  format.bits = static_cast<int>(bits);
  validate(format);
  return format;
}

void validate(const QuantFormat& format) {
  if (format.scheme == Scheme::ternary && format.bits != ternary_bits)
    throw Error("a ternary format's bits field must be " + std::to_string(ternary_bits) +
                " (codes -1..1), found " + std::to_string(format.bits));
  if (format.bits < min_bits || format.bits > max_bits)
    throw Error("quantization bit width must be 2, 3, 4, 5, 6, 7 or 8, found " +
                std::to_string(format.bits));
  if (format.granularity == Granularity::group &&
      (format.group_size < min_group_size || !std::has_single_bit(format.group_size)))
    throw Error("quantization group size must be a power of two >= 16 (16, 32, 64, ...), found " +
                std::to_string(format.group_size));
}

}  // namespace tinyq
