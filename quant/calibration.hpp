// The calibration set: a seeded random choice of training inputs that the
// data-aware methods (GPTQ, AWQ, the importance-weighted grid search) pass
// through the model.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor.hpp"

namespace tinyq {

// `count` distinct rows of `inputs` [n, features], chosen by a Fisher-Yates
// shuffle seeded with `seed`, in the order drawn. Throws tinyq::Error unless
// 1 <= count <= n.
Tensor calibration_rows(const Tensor& inputs, std::size_t count, std::uint64_t seed);

}  // namespace tinyq
