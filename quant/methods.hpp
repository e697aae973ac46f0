// Quantization methods by name: how a layer's grids are chosen and how its
// weights are rounded to them (quant/grid.hpp, quant/rounding.hpp).
//
// A method may look at the inputs that reach the layer on calibration data
// (a [samples, in] tensor, empty when quantize_model was given none): GPTQ's
// rounding needs their Hessian, an activation-weighted clipping search their
// mean squares. Adding a method: write its GridChooser or Rounder in a file
// of its own and add one row to the table in methods.cpp.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/tensor.hpp"
#include "quant/grid.hpp"
#include "quant/rounding.hpp"

namespace tinyq {

struct GridMethod {
  std::string name;  // "minmax"
  std::function<GridChooser(const Tensor& layer_inputs)> make;
};

struct RoundingMethod {
  std::string name;  // "nearest"
  std::function<Rounder(const Tensor& layer_inputs)> make;
};

// Throw tinyq::Error listing the known names when `name` is not one.
const GridMethod& find_grid_method(std::string_view name);
const RoundingMethod& find_rounding_method(std::string_view name);

// Adds a method at run time (a program's own, or a test's), replacing one of
// the same name. Not thread-safe: register before quantizing.
void add_grid_method(GridMethod method);
void add_rounding_method(RoundingMethod method);

}  // namespace tinyq
