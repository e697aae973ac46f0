// quantize_eval's tables and JSON: one row per evaluated format, the
// accuracy-by-method-and-bits summary of the sweep, and what --budget chose.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apps/model_evaluation.hpp"
#include "core/io/json_value.hpp"
#include "quant/mixed_precision.hpp"
#include "quant/report.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

// How a format's weights are chosen: the method (rtn = round to nearest,
// or a data-aware one) and the grid it rounds to.
struct MethodChoice {
  std::string method = "rtn";
  std::string grid = "minmax";
  std::size_t refits = 0;        // GPTQ grid refits (quant/grid_refit.hpp)
  bool bias_correction = false;  // quant/bias_correction.hpp
  std::size_t tune_epochs = 0;   // quant/scale_tuning.hpp
  // "gptq/zero-exact", "gptq/zero-exact+refit3+bc+tune5".
  std::string label() const {
    return method + "/" + grid + (refits ? "+refit" + std::to_string(refits) : "") +
           (bias_correction ? "+bc" : "") +
           (tune_epochs ? "+tune" + std::to_string(tune_epochs) : "");
  }
};

struct Row {
  std::string scheme, granularity;
  int bits = 32;  // 0: a different width per layer (mixed precision)
  std::size_t group_size = 0;
  ModelScore score;
  std::optional<ErrorStats> error;  // absent for float, and for a model loaded quantized
  QuantizedKernel kernel = QuantizedKernel::weight_only;
  std::string activations;  // static int8 (integer-only): the activation observer
  MethodChoice method;
  std::size_t calibration = 0;      // calibration images the method and report saw
  std::vector<LayerReport> layers;  // per quantized layer
};

// "channel", "group-64".
std::string granularity_text(const QuantFormat& format);
// A row for `format`, with its score; the caller fills in the rest.
Row format_row(const QuantFormat& format, const ModelScore& score);

// The fixed-width table: the float row (if any) first, then each row with its
// change against float.
void print_table(const std::optional<Row>& float_row, const std::vector<Row>& rows);
// The sweep's accuracies as one small table: a line per method, a column per
// bit width, and the model size under each.
void print_method_summary(const std::vector<Row>& rows, double float_accuracy,
                          std::span<const int> bits_list);
// A row of the report's "results", with its per-layer errors.
JsonValue row_json(const Row& row);

// What --budget chose, one line per layer.
std::string format_plan(const MixedPrecisionPlan& plan, const Sequential& model);
// The same, with every candidate's cost and sensitivity, for the report.
JsonValue plan_json(const MixedPrecisionPlan& plan, double budget);

}  // namespace tinyq
