// Gradients against central finite differences: what every backward pass
// in the tests is checked with (Dense and ReLU, FakeQuantDense's STE and
// LSQ parts).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "core/tensor.hpp"

namespace tinyq::test {

// The scalar the checks differentiate: L = Σ y ⊙ R for a fixed random R, so
// dL/dy = R. Summed in double so the finite difference is not lost in
// float rounding of the sum.
inline double weighted_sum(const Tensor& y, const Tensor& r) {
  double sum = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) sum += double{y[i]} * double{r[i]};
  return sum;
}

// Central difference (L(v+h) - L(v-h)) / 2h for every element of `values`,
// compared with `analytic`. The error of float32 forward passes is about
// 1e-7 · |terms|; divided by 2h = 2e-2 that is ~1e-5, so 1e-3 absolute plus
// 1e-3 relative is tight enough to catch a wrong or transposed gradient.
inline void check_gradient(Tensor& values, const Tensor& analytic,
                           const std::function<double()>& loss, const std::string& what) {
  REQUIRE(values.size() == analytic.size());
  const float h = 1e-2f;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = saved + h;
    const double plus = loss();
    values[i] = saved - h;
    const double minus = loss();
    values[i] = saved;
    const double numeric = (plus - minus) / (2.0 * h);
    INFO(what << "[" << i << "]: analytic " << analytic[i] << ", numeric " << numeric);
    CHECK(std::abs(analytic[i] - numeric) <= 1e-3 + 1e-3 * std::abs(numeric));
  }
}

}  // namespace tinyq::test
