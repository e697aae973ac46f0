// Parsing, printing and validating quantization formats.
#include "quant/scheme.hpp"

#include <bit>

#include "core/error.hpp"

namespace tinyq {

Scheme parse_scheme(std::string_view name) {
  if (name == "asymmetric") return Scheme::asymmetric;
  if (name == "symmetric") return Scheme::symmetric;
  throw Error("unknown quantization scheme '" + std::string(name) +
              "': expected asymmetric or symmetric");
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
  return scheme == Scheme::asymmetric ? "asymmetric" : "symmetric";
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

std::string to_string(const QuantFormat& format) {
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "-" + std::string.
  std::string text = to_string(format.scheme);
  text += '/';
  text += to_string(format.granularity);
  if (format.granularity == Granularity::group) {
    text += '-';
    text += std::to_string(format.group_size);
  }
  text += '/';
  text += std::to_string(format.bits);
  text += "-bit";
  return text;
}

void validate(const QuantFormat& format) {
  if (format.bits < min_bits || format.bits > max_bits)
    throw Error("quantization bit width must be 2, 3, 4, 5, 6, 7 or 8, found " +
                std::to_string(format.bits));
  if (format.granularity == Granularity::group &&
      (format.group_size < min_group_size || !std::has_single_bit(format.group_size)))
    throw Error("quantization group size must be a power of two >= 16 (16, 32, 64, ...), found " +
                std::to_string(format.group_size));
}

}  // namespace tinyq
