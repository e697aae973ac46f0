// Quantization methods by name: how a layer's grids are chosen and how its
// weights are rounded to them (quant/grid.hpp, quant/rounding.hpp), and the
// whole-model method of QuantConfig::method.
//
// A method may look at the inputs that reach the layer on calibration data
// (a [samples, in] tensor, empty when quantize_model was given none): GPTQ's
// rounding needs their Hessian. Every chooser is also handed the importance
// E[x_c²] of each input column (quant/grid.hpp). Adding a method: write its
// GridChooser or Rounder in a file of its own and add one row to the table
// in methods.cpp.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/tensor.hpp"
#include "quant/grid.hpp"
#include "quant/rounding.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

struct GridMethod {
  std::string name;  // "minmax"
  std::function<GridChooser(const Tensor& layer_inputs, const QuantConfig& config)> make;
};

struct RoundingMethod {
  std::string name;  // "nearest"
  std::function<Rounder(const Tensor& layer_inputs, const QuantConfig& config)> make;
};

// Throw tinyq::Error listing the known names when `name` is not one.
const GridMethod& find_grid_method(std::string_view name);
const RoundingMethod& find_rounding_method(std::string_view name);

// Adds a method at run time (a program's own, or a test's), replacing one of
// the same name. Not thread-safe: register before quantizing.
void add_grid_method(GridMethod method);
void add_rounding_method(RoundingMethod method);

// What config.method asks for.
bool uses_awq(const QuantConfig& config);
bool uses_gptq(const QuantConfig& config);
// The rounding method a layer gets: "gptq" for the gptq methods, else config.rounding.
std::string rounding_of(const QuantConfig& config);

// Throws tinyq::Error (one line) for an unknown method, grid or rounding, a
// damp that is negative or NaN, GPTQ refits without GPTQ, or a data-aware
// method or bias correction without calibration data (`calibrated` false).
void validate_methods(const QuantConfig& config, bool calibrated);

}  // namespace tinyq
