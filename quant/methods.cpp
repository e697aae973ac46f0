// The tables of grid and rounding methods: one row registers a method.
#include "quant/methods.hpp"

#include <vector>

#include "core/error.hpp"
#include "quant/grid_search.hpp"

namespace tinyq {

namespace {

std::vector<GridMethod>& grid_methods() {
  static std::vector<GridMethod> table = {
      {"minmax", [](const Tensor&) -> GridChooser { return minmax_grid; }},
      {"mse", [](const Tensor&) -> GridChooser { return mse_grid; }},
  };
  return table;
}

std::vector<RoundingMethod>& rounding_methods() {
  static std::vector<RoundingMethod> table = {
      {"nearest", [](const Tensor&) -> Rounder { return round_to_nearest; }},
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

}  // namespace tinyq
