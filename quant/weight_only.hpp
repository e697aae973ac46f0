// The weight-only path of QuantizedDense (the default): float activations
// times 8-bit weight codes widened to float in registers, fp32 sums
// (core/kernels/widen_gemm.hpp), then each run's step and offset applied.
#pragma once

#include <span>

#include "core/kernels/isa.hpp"
#include "core/kernels/widen_gemm.hpp"
#include "core/tensor.hpp"
#include "quant/quantized_matrix.hpp"
#include "quant/signed_weights.hpp"

namespace tinyq {

class WeightOnlyWeights {
 public:
  explicit WeightOnlyWeights(const QuantizedMatrix& weight);

  // out [batch, rows] = x [batch, cols] · Wᵀ + bias, on the float path `isa`.
  void forward(Isa isa, const Tensor& x, std::span<const float> bias, Tensor& out) const;

 private:
  SignedWeights weights_;  // steps and offsets (codes live in panels_)
  WidenPanels panels_;
  bool has_offsets_ = false;  // false for symmetric schemes: no Σx needed
};

}  // namespace tinyq
