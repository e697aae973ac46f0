// quantize_eval's options; see quantize_options.hpp.
#include "apps/quantize_options.hpp"

#include <string>

#include "quant/methods.hpp"

namespace tinyq {

void add_quantize_options(Options& options) {
  options.add("model", "FILE",
              "a model written by train_mnist (float) or by --out (quantized), or a "
              ".safetensors file (a float PyTorch nn.Sequential MLP, or --export output)");
  options.add("data", "DIR",
              "folder holding t10k- images and labels, and train- ones for calibration (see "
              "README)");
  options.add("scheme", "NAME",
              "evaluate one format: asymmetric, symmetric or ternary (codes -1, 0, +1, five "
              "per byte; --bits 1.58)");
  options.add("granularity", "NAME", "tensor, channel or group (with --scheme)", "");
  options.add("group-size", "G", "inputs per group: a power of two >= 16", "64");
  options.add("bits", "B", "bits per weight, 2 to 8 (1.58 with --scheme ternary)", "8");
  options.add("keep-float", "LIST", "layer indices to keep in float, e.g. 4");
  options.add("kernel", "NAME",
              "how the quantized layers multiply (with --scheme): weight_only (float "
              "activations, weights widened in registers) or dynamic_int8 (activations "
              "quantized per row to 7-bit codes, int32 sums)",
              "weight_only");
  options.add("grid", "NAME",
              "how each block's scale and offset are chosen (with --scheme): minmax (span the "
              "block's weights), zero-exact (asymmetric: an integer zero point, so 0 is a "
              "level) or search (the scale and zero point of least squared error, weighted by "
              "E[x^2] with calibration data; mse is another name for it)",
              "minmax");
  options.add("method", "NAME",
              "rtn (round to nearest), awq (activation-aware scaling), gptq (error-compensating "
              "rounding) or awq+gptq; all but rtn use calibration data (with --scheme)",
              "rtn");
  options.add("calibration", "N",
              "training images passed through the model for the data-aware methods (and to "
              "weight --grid search); any N from 1 to the training set size",
              "1024");
  options.add("seed", "S", "seed for choosing the calibration images", "1");
  options.add("damp", "X", "GPTQ damping: fraction of the mean diagonal of H added to it", "0.01");
  options.add_flag("bias-correction",
                   "add to each quantized layer's bias its mean output error on the calibration "
                   "images (inputs through the quantized layers before it; with --scheme)");
  options.add("refits", "N",
              "GPTQ: after the pass, refit every block's scale (and offset) to the least output "
              "error with the codes fixed and pass again, up to N times while the error falls",
              "0");
  options.add_flag("act-order", "GPTQ: round columns in order of decreasing H_cc");
  options.add("tune-epochs", "N",
              "after quantizing, fit every block's step and the biases to the float model's "
              "outputs on the calibration images (codes fixed) for N epochs",
              "0");
  options.add("tune-lr", "RATE", "learning rate of --tune-epochs (Adam, on log step)", "0.001");
  options.add("budget", "BITS",
              "mixed precision: choose each layer's bits and scale granularity from measured "
              "sensitivity to fit an average of BITS stored bits per weight, scales included "
              "(at least 2)");
  options.add("out", "FILE", "save the quantized model (needs --scheme or --budget)");
  options.add("export", "FILE.safetensors",
              "write the model as safetensors: the quantized one with --scheme, else the "
              "model as loaded");
  options.add("report", "FILE.json", "also write a JSON report");
  options.add("plot", "FILE.svg",
              "draw each layer's weight histogram under 3-bit grids without and with a zero "
              "level, and accuracy and size against bits (2, 3, 4, 8) for every method of the "
              "sweep");
}

bool asks_for_one_format(const Options& options) {
  return options.given("scheme") || options.given("granularity") || options.given("bits") ||
         options.given("group-size") || options.given("keep-float") || options.given("kernel") ||
         options.given("grid") || options.given("method") || options.given("calibration") ||
         options.given("damp") || options.flag("act-order") || options.flag("bias-correction") ||
         options.given("refits") || options.given("budget") || options.given("tune-epochs") ||
         options.given("tune-lr");
}

QuantConfig one_format_config(const Options& options, bool for_budget) {
  QuantConfig config;
  config.format.scheme =
      for_budget && !options.given("scheme")
          ? Scheme::asymmetric
          : parse_scheme(options.choice("scheme", {"asymmetric", "symmetric", "ternary"}));
  config.format.granularity =
      options.given("granularity")
          ? parse_granularity(options.choice("granularity", {"tensor", "channel", "group"}))
          : Granularity::tensor;
  if (config.format.scheme != Scheme::ternary)
    config.format.bits = static_cast<int>(options.whole_number("bits", 2, 8));
  else if (options.given("bits") && options.text("bits") != "1.58")
    throw UsageError("option --bits: the ternary scheme has 1.58 bits, found '" +
                     options.text("bits") + "'");
  else
    config.format.bits = ternary_bits;
  config.format.group_size = options.whole_number("group-size", 16, 1u << 20);
  if (config.format.granularity == Granularity::group &&
      (config.format.group_size & (config.format.group_size - 1)) != 0)
    throw UsageError("option --group-size: expected a power of two >= 16, found '" +
                     options.text("group-size") + "'");
  if (options.given("keep-float")) config.keep_float = options.number_list("keep-float", 0, 1024);
  config.kernel = parse_kernel(options.choice("kernel", {"weight_only", "dynamic_int8"}));
  config.grid = options.choice("grid", {"minmax", "zero-exact", "search", "mse"});
  config.method = options.choice("method", {"rtn", "awq", "gptq", "awq+gptq"});
  config.damp = options.real_number("damp", 0.0, 1e6);
  config.act_order = options.flag("act-order");
  config.gptq_refits = options.whole_number("refits", 0, 100);
  if (config.gptq_refits > 0 && !uses_gptq(config))
    throw UsageError(
        "option --refits: refits GPTQ's grids, so it needs --method gptq or "
        "awq+gptq, found '" +
        config.method + "'");
  config.bias_correction = options.flag("bias-correction");
  config.tune_epochs = options.whole_number("tune-epochs", 0, 10000);
  config.tune_learning_rate = options.real_number("tune-lr", 0.0, 1.0);
  if (!(config.tune_learning_rate > 0.0))
    throw UsageError("option --tune-lr: expected a number above 0 (and at most 1), found '" +
                     options.text("tune-lr") + "'");
  if (options.given("tune-lr") && config.tune_epochs == 0)
    throw UsageError("option --tune-lr: it sets the rate of --tune-epochs, which is 0");
  return config;
}

}  // namespace tinyq
