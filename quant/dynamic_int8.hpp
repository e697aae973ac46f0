// The dynamic int8 path of QuantizedDense: activations quantized per row at
// run time, 7-bit × 8-bit products summed in int32 (core/kernels/int8_gemm.hpp),
// then rescaled to float. The approach of PyTorch's dynamic quantization
// and of ggml's Q8_0 activations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/isa.hpp"
#include "core/kernels/lowbit_int_gemm.hpp"
#include "core/tensor.hpp"
#include "quant/quantized_matrix.hpp"
#include "quant/signed_weights.hpp"

namespace tinyq {

class DynamicInt8Weights {
 public:
  // Codes of 2 to 4 bits (not ternary) whose groups are whole words of
  // lowbit_int_gemm's layout stay packed and run there, group scales inside
  // the kernel; everything else becomes int8 panels for int8_gemm_u7.
  explicit DynamicInt8Weights(const QuantizedMatrix& weight);

  // out [batch, rows] = x [batch, cols] · Wᵀ + bias, on the integer path
  // `isa`; with relu, each output v becomes v > 0 ? v : 0 (in rescale_row
  // as it is written on the int8 panels' path; on each finished block,
  // still in cache, for the packed low-bit codes, whose kernel finishes
  // the outputs inside lowbit_int_gemm).
  void forward(Isa isa, const Tensor& x, std::span<const float> bias, Tensor& out,
               bool relu = false) const;

 private:
  // forward for the packed low-bit codes when the batch is below twice the
  // thread count: the outputs, not the rows, are split between the threads.
  void small_batch_lowbit(Isa isa, const Tensor& x, std::span<const float> bias, Tensor& out,
                          bool relu) const;

  SignedWeights weights_;  // steps, offsets and code sums (codes live in panels_)
  Int8Panels panels_;
  std::optional<LowBitIntPanels> lowbit_;  // instead of panels_ when the codes allow
};

// The largest activation code: 7 bits, not 8, so the products can run
// through int8_gemm_u7 (on AVX2, vpmaddubsw on the bytes as stored, about
// 1.9x the 8-bit kernel's rate); PyTorch's dynamic quantization
// (reduce_range) does the same.
inline constexpr std::int32_t dynamic_activation_top = 127;

// How one row of activations becomes codes: x ≈ (a - zero_point) · step,
// a in [0, 127]. The range [min(x, 0), max(x, 0)] is mapped onto [0, 127],
// so 0 is exact and ReLU outputs get zero_point 0.
struct RowQuantization {
  float step;
  std::int32_t zero_point;
};
// Quantizes x into a (x.size() codes) and returns the step and zero point.
// The same codes on every path `isa`. Also stores Σ a over each run of
// run_length codes (the last may be shorter) in run_sums.
RowQuantization quantize_row(Isa isa, std::span<const float> x, std::uint8_t* a,
                             std::size_t run_length, std::span<std::int32_t> run_sums);

}  // namespace tinyq
