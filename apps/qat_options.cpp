// Reading the --qat-* options.
#include "apps/qat_options.hpp"

#include <bit>
#include <string>

#include "quant/methods.hpp"

namespace tinyq {

void add_qat_options(Options& options) {
  options.add("qat-bits", "B",
              "train through the quantizer (QAT) at B bits per weight: 2 to 8, or 1.58 for "
              "ternary {-1, 0, +1}·scale; --out then holds the quantized model");
  options.add("qat-scheme", "NAME", "QAT scheme: asymmetric, symmetric or ternary (with 1.58)",
              "asymmetric");
  options.add("qat-granularity", "NAME", "QAT granularity: tensor, channel or group", "channel");
  options.add("qat-group-size", "G", "QAT inputs per group: a power of two >= 16", "64");
  options.add("qat-grid", "NAME",
              "how QAT chooses each block's grid at every step: minmax, zero-exact, or search "
              "(also called mse; slow without --qat-learn-scale) (with --qat-learn-scale: "
              "only the initial one)",
              "minmax");
  options.add_flag("qat-learn-scale", "QAT learns each block's step (and offset) as in LSQ");
}

std::optional<QatConfig> qat_config(const Options& options) {
  if (!options.given("qat-bits")) {
    for (const char* name :
         {"qat-scheme", "qat-granularity", "qat-group-size", "qat-grid", "qat-learn-scale"})
      if (options.given(name)) throw UsageError(std::string("--") + name + " needs --qat-bits");
    return std::nullopt;
  }
  QatConfig config;
  const std::string bits = options.text("qat-bits");
  std::string scheme = options.choice("qat-scheme", {"asymmetric", "symmetric", "ternary"});
  if (bits == "1.58") {
    if (options.given("qat-scheme") && scheme != "ternary")
      throw UsageError("--qat-bits 1.58 is the ternary scheme, found --qat-scheme " + scheme);
    scheme = "ternary";
  } else if (scheme == "ternary") {
    throw UsageError("--qat-scheme ternary needs --qat-bits 1.58, found '" + bits + "'");
  }
  config.format.scheme = parse_scheme(scheme);
  if (scheme == "ternary") {
    config.format.bits = ternary_bits;
  } else if (bits.size() == 1 && bits[0] >= '2' && bits[0] <= '8') {
    config.format.bits = bits[0] - '0';
  } else {
    throw UsageError(
        "option --qat-bits: expected 1.58 (ternary) or a whole number from 2 to 8, "
        "found '" +
        bits + "'");
  }
  config.format.granularity =
      parse_granularity(options.choice("qat-granularity", {"tensor", "channel", "group"}));
  config.format.group_size = options.whole_number("qat-group-size", min_group_size, 1 << 20);
  if (!std::has_single_bit(config.format.group_size))
    throw UsageError("option --qat-group-size: expected a power of two >= 16, found " +
                     std::to_string(config.format.group_size));
  config.grid = options.choice("qat-grid", {"minmax", "zero-exact", "search", "mse"});
  config.learn_scale = options.flag("qat-learn-scale");
  return config;
}

}  // namespace tinyq
