// The calibration set: a seeded random choice of training inputs that the
// data-aware methods (GPTQ, AWQ, the importance-weighted grid search) pass
// through the model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace tinyq {

// Which rows: `count` distinct indices below n, chosen by a Fisher-Yates
// shuffle seeded with `seed`, in the order drawn. Throws tinyq::Error unless
// 1 <= count <= n.
std::vector<std::size_t> calibration_indices(std::size_t n, std::size_t count, std::uint64_t seed);

// Those rows of `inputs` [n, features], in that order.
Tensor calibration_rows(const Tensor& inputs, std::size_t count, std::uint64_t seed);

}  // namespace tinyq
