// StaticInt8Dense: a Dense layer that runs in integers only (Jacob et al.
// 2018). Its input arrives as u8 codes with a scale and zero point fixed at
// calibration (quant/static_int8/observers.hpp), and it leaves either u8 codes
// for the next layer or, as the last layer, int32 class scores.
//
// For output j, with input codes a_i (real (a_i - z_in)·s_in), weight codes
// w_ji (int8, symmetric: real w_ji·s_w[j]) and bias b_j (int32 at scale
// s_in·s_w[j], zero point 0):
//
//   acc_j  = Σ_i a_i·w_ji + (b_j - z_in·Σ_i w_ji)        exact in int32
//   u8:     out_j = clamp(M_j(acc_j), lo - z_out, 255 - z_out) + z_out
//   scores: out_j = M_j(acc_j)                            (int32)
//
// The bracket is folded into one int32 per output when the layer is built;
// Σ a_i·w_ji is core's int8_gemm_pairs, or int8_gemm_narrow when every
// |w| <= 64 (weights of 7 bits or fewer: exact vpmaddubsw pair sums on AVX2). M_j(x) =
// multiply_by_quantized_multiplier (quant/static_int8/fixed_point.hpp) with M_j = s_in·s_w[j] /
// s_out. With a ReLU after the layer lo = z_out (ReLU is the clamp at the real 0), else 0. Scores
// share one scale s_out for all outputs, so their argmax is the prediction. No float is involved in
// any of this.
//
// As a Layer it also takes and gives floats, so a Sequential holding it runs
// like any other model: forward quantizes x to codes (x / s_in rounded, plus
// z_in; MNIST pixels / 255 give back the pixels exactly), runs the integer
// layer, and returns (out_j - z_out)·s_out. The integer pipeline of a whole
// model (quant/static_int8/static_network.hpp) skips those conversions.
//
// State dict (kind "static_int8_dense", version 1; nn/state_dict.hpp):
//   weight              I8  [out, in]  weight codes
//   weight.scale        F32 [out]      s_w: w ≈ code · s_w
//   bias                I32 [out]      at scale s_in · s_w[j]
//   requant.multiplier  I32 [out]      M0_j, 0 or in [2^30, 2^31)
//   requant.shift       I32 [out]      M_j = M0_j · 2^(shift_j - 31)
//   input.scale F32 [1], input.zero_point I32 [1]
//   output.scale F32 [1], output.zero_point I32 [1] (0 for scores)
//   attributes: "output" "u8" or "scores", "activation" "relu" or "none",
//   "version" "1".
// A reader recomputes M0 and shift from the scales and refuses a state whose
// integers disagree, so a damaged multiplier cannot load silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kernels/int8_gemm.hpp"
#include "nn/layer.hpp"
#include "quant/static_int8/fixed_point.hpp"
#include "quant/static_int8/observers.hpp"
#include "quant/static_int8/requantize.hpp"

namespace tinyq {

class StaticInt8Dense : public Layer {
 public:
  struct Params {
    std::size_t in = 0, out = 0;
    std::vector<std::int8_t> weight;              // [out, in]
    std::vector<float> weight_scale;              // [out]
    std::vector<std::int32_t> bias;               // [out]
    U8Quantization input, output;                 // output.zero_point is 0 for scores
    bool relu = false;                            // clamp at the output zero point
    bool scores = false;                          // last layer: int32 scores, no clamp
    std::vector<QuantizedMultiplier> multiplier;  // [out]
  };

  // Checks everything (shapes, zero points in 0..255, positive finite scales,
  // multipliers equal to requant_multiplier of the scales, int32 headroom of
  // the folded sums); throws tinyq::Error.
  explicit StaticInt8Dense(Params params);

  std::string kind() const override { return "static_int8_dense"; }
  std::string describe() const override;  // "StaticInt8Dense(784 -> 256, u8 out, relu)"
  std::optional<std::size_t> input_features() const override { return params_.in; }
  std::optional<std::size_t> output_features() const override { return params_.out; }
  const Tensor& forward(const Tensor& x) override;
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad) override;
  std::unique_ptr<Layer> clone() const override;
  StateDict state() const override;
  // "weight" (codes · s_w) and "bias" (b_j · s_in · s_w[j]) as floats.
  StateDict float_state() const override;
  static std::unique_ptr<Layer> from_state(const StateDict& state, const std::string& where);

  const Params& params() const { return params_; }
  // Row stride, in bytes, the input code rows need (zeros past `in`).
  std::size_t padded_inputs() const { return panels_->padded_k(); }
  // The folded int32 term b_j - z_in·Σ_i w_ji of each output.
  const std::vector<std::int32_t>& folded_bias() const { return folded_bias_; }

  // The integer layer on `rows` input rows a (row stride lda >= padded_inputs()).
  // acc: scratch of rows · out int32. u8 layers write codes (row stride ldo),
  // score layers write scores [rows, out].
  void forward_codes(Isa isa, std::size_t rows, const std::uint8_t* a, std::size_t lda,
                     std::int32_t* acc, std::uint8_t* codes, std::size_t ldo) const {
    forward_codes(isa, rows, a, lda, 0, params_.out, acc, codes, ldo);
  }
  void forward_scores(Isa isa, std::size_t rows, const std::uint8_t* a, std::size_t lda,
                      std::int32_t* scores) const {
    forward_scores(isa, rows, a, lda, 0, params_.out, scores);
  }
  // The same for outputs [j_begin, j_end) only (j_begin a multiple of
  // int8_panel_columns, j_end one or out), so threads can share a small
  // batch's layer; acc, codes and scores keep their full-width layout and
  // only these columns are written. Each output gets the same arithmetic
  // whatever the split, so the same bits.
  void forward_codes(Isa isa, std::size_t rows, const std::uint8_t* a, std::size_t lda,
                     std::size_t j_begin, std::size_t j_end, std::int32_t* acc, std::uint8_t* codes,
                     std::size_t ldo) const;
  void forward_scores(Isa isa, std::size_t rows, const std::uint8_t* a, std::size_t lda,
                      std::size_t j_begin, std::size_t j_end, std::int32_t* scores) const;

 private:
  // The requantization table (quant/static_int8/requantize.hpp) of outputs
  // [j_begin, j_end).
  RequantTable requant_table(std::size_t j_begin, std::size_t j_end) const;

  // Σ a·w for outputs [j_begin, j_end) into acc [rows, out]: int8_gemm_narrow
  // when the weights are narrow enough, else int8_gemm_pairs.
  void products(Isa isa, std::size_t rows, const std::uint8_t* a, std::size_t lda,
                std::size_t j_begin, std::size_t j_end, std::int32_t* acc) const;

  Params params_;
  bool narrow_ = false;  // every |w| <= 64 (7-bit weights or fewer)
  std::vector<std::int32_t> folded_bias_;
  std::vector<std::int32_t> m0_, shift_;  // params_.multiplier split in two
  bool right_shifts_only_ = true;
  std::shared_ptr<const Int8PairPanels> panels_;  // int8_gemm_pairs layout
  Tensor output_;
};

// M_j = s_in · s_w / s_out in double, as quantize_multiplier takes it: the
// one formula the quantizer and every reader use.
QuantizedMultiplier requant_multiplier(float input_scale, float weight_scale, float output_scale);

}  // namespace tinyq
