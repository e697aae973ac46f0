// Measuring a model the way quantize_eval and bench_mnist report it:
// accuracy and throughput on a test set, file size, and how far quantized
// weights are from the float ones, summed over all quantized layers.
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

struct WeightError {
  double rmse = 0.0;     // sqrt(Σ (w - ŵ)² / n) over every quantized weight
  double sqnr_db = 0.0;  // 10 log10(Σ w² / Σ (w - ŵ)²); +infinity when exact
};

// Compares each QuantizedDense of `quantized` with the Dense at the same
// position in `original`.
WeightError weight_error(const Sequential& original, const Sequential& quantized);

// True if any layer is quantized.
bool is_quantized(const Sequential& model);

}  // namespace tinyq
