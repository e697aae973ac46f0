// Measuring a model the way quantize_eval and bench_mnist report it:
// accuracy and throughput on a test set, and file size. (How far quantized
// weights are from the float ones: quant/report.hpp.)
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/tensor.hpp"
#include "nn/sequential.hpp"

namespace tinyq {

struct ModelScore {
  double accuracy = 0.0;
  double samples_per_second = 0.0;  // best of `repeats` passes over the whole set
  std::size_t bytes = 0;            // size of the model file
};

// Throws tinyq::Error naming both widths when the model's input width does
// not match the images'.
ModelScore score_model(Sequential& model, const Tensor& images,
                       std::span<const std::uint8_t> labels, std::size_t repeats = 3);

}  // namespace tinyq
