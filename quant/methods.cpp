// The tables of grid and rounding methods: one row registers a method.
#include "quant/methods.hpp"

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "quant/gptq.hpp"
#include "quant/grid_search.hpp"

namespace tinyq {

namespace {

std::vector<GridMethod>& grid_methods() {
  static std::vector<GridMethod> table = {
      {"minmax",
       [](const Tensor&, const QuantConfig&) { return ignoring_importance(minmax_grid); }},
      {"zero-exact",
       [](const Tensor&, const QuantConfig&) { return ignoring_importance(zero_exact_grid); }},
      {"search", [](const Tensor&, const QuantConfig&) -> GridChooser { return search_grid; }},
      // The name of the search before it weighed by importance and fitted
      // zero points.
      {"mse", [](const Tensor&, const QuantConfig&) -> GridChooser { return search_grid; }},
  };
  return table;
}

std::vector<RoundingMethod>& rounding_methods() {
  static std::vector<RoundingMethod> table = {
      {"nearest", [](const Tensor&, const QuantConfig&) -> Rounder { return round_to_nearest; }},
      {"gptq",
       [](const Tensor& inputs, const QuantConfig& config) {
         return gptq_rounder(
             inputs,
             {.damp = config.damp, .act_order = config.act_order, .refits = config.gptq_refits});
       }},
  };
  return table;
}

template <typename Method>
const Method& find(const std::vector<Method>& table, std::string_view name, const char* what) {
  std::string known;
  for (const Method& method : table) {
    if (method.name == name) return method;
    known += (known.empty() ? "" : ", ") + method.name;
  }
  throw Error("unknown " + std::string(what) + " '" + std::string(name) + "': expected " + known);
}

template <typename Method>
void add(std::vector<Method>& table, Method method) {
  for (Method& existing : table)
    if (existing.name == method.name) {
      existing = std::move(method);
      return;
    }
  table.push_back(std::move(method));
}

}  // namespace

const GridMethod& find_grid_method(std::string_view name) {
  return find(grid_methods(), name, "grid");
}

const RoundingMethod& find_rounding_method(std::string_view name) {
  return find(rounding_methods(), name, "rounding");
}

void add_grid_method(GridMethod method) {
  add(grid_methods(), std::move(method));
}

void add_rounding_method(RoundingMethod method) {
  add(rounding_methods(), std::move(method));
}

bool uses_awq(const QuantConfig& config) {
  return config.method == "awq" || config.method == "awq+gptq";
}

bool uses_gptq(const QuantConfig& config) {
  return config.method == "gptq" || config.method == "awq+gptq";
}

std::string rounding_of(const QuantConfig& config) {
  return uses_gptq(config) ? "gptq" : config.rounding;
}

void validate_methods(const QuantConfig& config, bool calibrated) {
  if (config.method != "rtn" && !uses_awq(config) && !uses_gptq(config))
    throw Error("unknown quantization method '" + config.method +
                "': expected rtn, awq, gptq or awq+gptq");
  if (!(config.damp >= 0.0) || !std::isfinite(config.damp))
    throw Error("GPTQ damp must be a finite number >= 0, found " + std::to_string(config.damp));
  find_grid_method(config.grid);
  find_rounding_method(config.rounding);
  if (uses_gptq(config) && config.rounding != "nearest")
    throw Error("method " + config.method + " rounds by GPTQ; it cannot also round by '" +
                config.rounding + "'");
  if (config.method != "rtn" && !calibrated)
    throw Error("method " + config.method + " needs calibration inputs (none were given)");
  if (config.gptq_refits > 0 && !uses_gptq(config))
    throw Error("GPTQ refits need method gptq or awq+gptq, found " + config.method);
  if (config.bias_correction && !calibrated)
    throw Error("bias correction needs calibration inputs (none were given)");
  if (config.tune_epochs > 0 && !calibrated)
    throw Error("grid tuning needs calibration inputs (none were given)");
  if (!(config.tune_learning_rate > 0.0) || !std::isfinite(config.tune_learning_rate))
    throw Error("grid tuning's learning rate must be a finite number > 0, found " +
                std::to_string(config.tune_learning_rate));
}

}  // namespace tinyq
