// The weight-only path of QuantizedDense (the default): float activations
// times weight codes widened to float in registers, fp32 sums. Codes of 5
// to 8 bits run as int8 (core/kernels/widen_gemm.hpp), then each run's step
// and offset applied; codes of 2 to 4 bits stay packed and are unpacked
// inside the kernel, which applies each group's step and offset itself
// (core/kernels/widen_gemm_lowbit.hpp).
#pragma once

#include <optional>
#include <span>

#include "core/kernels/isa.hpp"
#include "core/kernels/widen_gemm.hpp"
#include "core/kernels/widen_gemm_lowbit.hpp"
#include "core/tensor.hpp"
#include "quant/quantized_matrix.hpp"
#include "quant/signed_weights.hpp"

namespace tinyq {

class WeightOnlyWeights {
 public:
  explicit WeightOnlyWeights(const QuantizedMatrix& weight);

  // out [batch, rows] = x [batch, cols] · Wᵀ + bias, on the float path `isa`;
  // with relu, then max(out, 0) as Relu::forward computes it, each block of
  // out as soon as it is final (no pass of its own over the whole output).
  void forward(Isa isa, const Tensor& x, std::span<const float> bias, Tensor& out,
               bool relu = false) const;

 private:
  SignedWeights weights_;  // steps and offsets (codes live in panels_)
  WidenPanels panels_;
  bool has_offsets_ = false;             // false for symmetric schemes: no Σx needed
  std::optional<LowBitPanels> low_bit_;  // set for 2 to 4 bits, which use only it
};

}  // namespace tinyq
