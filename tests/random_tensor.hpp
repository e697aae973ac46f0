// Random test inputs: values uniform in [lo, hi) from tinyq's seeded Rng, so
// every test sees the same numbers on every machine.
#pragma once

#include <vector>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tinyq::test {

inline std::vector<float> random_values(std::size_t count, Rng& rng, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::vector<float> values(count);
  for (float& v : values) v = rng.uniform(lo, hi);
  return values;
}

inline Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  for (float& v : t.values()) v = rng.uniform(lo, hi);
  return t;
}

}  // namespace tinyq::test
