// The calibration set of the data-aware quantization methods: a seeded
// random sample of the training images (never test images, which score the
// result), passed through the model by quantize_model.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor.hpp"

namespace tinyq {

// `count` distinct rows of `images` ([n, pixels]), chosen uniformly at
// random from `seed` (a partial Fisher-Yates shuffle), in the order drawn.
// Throws tinyq::Error unless 1 <= count <= n.
Tensor calibration_sample(const Tensor& images, std::size_t count, std::uint64_t seed = 1);

}  // namespace tinyq
