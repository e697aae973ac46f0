// QuantizedDense: a Dense layer whose weights are stored as integer codes.
//
// y = x · Wᵀ + b with W [out, in] held as a QuantizedMatrix and b in float.
// Forward never rebuilds W in float: the codes are widened inside the
// kernel's registers (see quant/weight_only.cpp and quant/dynamic_int8.cpp). It is an
// inference-only layer: backward throws tinyq::Error.
//
// kernel() picks how forward multiplies (see QuantizedKernel in scheme.hpp):
// weight_only (the default) or dynamic_int8. It is a run-time setting, not
// stored in the model file, so files written before it existed still load
// and one file can be run either way. Each kernel runs the instruction-set
// path active_isa() gives it (core/kernels/isa.hpp: the widest, or TINYQ_ISA).
//
// State dict (kind "quantized_dense"; nn/state_dict.hpp), version 1:
//   weight.codes    U8  [out, row_bytes]  the packed codes exactly as stored:
//                   row r holds the codes of W's row r as one little-endian
//                   bit stream, `bits` bits per code, least significant bit
//                   first; row_bytes = ceil(in·bits / 8), unused bits zero.
//                   Unsigned (asymmetric) or `bits`-bit two's complement
//                   (symmetric); at 8 bits one uint8 or int8 per weight.
//                   Ternary (format "ternary/<granularity>/1.58"): codes
//                   -1, 0, +1 five per byte, byte = Σ_k (q_k + 1)·3^k for
//                   codes k = 0..4 of the byte, least significant digit
//                   first (quant/ternary.hpp); row_bytes = ceil(in / 5),
//                   unused digits zero; no offsets (w = q / scale).
//   weight.scales   F32 [blocks]  levels per unit of w, one per block
//   weight.offsets  F32 [blocks]  block minimum; asymmetric only
//   bias            F32 [out]
//   attributes: "weight.format" the format tag ("asymmetric/channel/8",
//   "symmetric/group-64/4"), "weight.shape" "out,in", "version" "1".
// Version 2 (written only for asymmetric weights whose grids all have 0 as a
// level, quant/grid.hpp) adds
//   weight.zero_points  U8 [blocks]  the code z whose level is 0: w = (q - z) / s
// and keeps weight.offsets = -z / s rounded to float, so a reader that uses
// offsets gets the same weights within float rounding.
// blocks = 1, out, or out · ceil(in / G). A missing "version" means 1 (files
// written before payloads carried one; ternary layers are version 1 too: a
// reader that predates them refuses the unknown scheme in "weight.format"); a later version (for
// example one that adds activation scales and zero points) is refused by this reader with a
// message, never misread. In numpy, for one layer:
//   bits_ = np.unpackbits(codes, axis=1, bitorder="little")[:, :in_ * bits]
//   q = (bits_.reshape(out, in_, bits) << np.arange(bits)).sum(-1)
//   if symmetric: q = np.where(q >= 2 ** (bits - 1), q - 2 ** bits, q)
//   ternary instead: q = ((codes[:, :, None] // 3 ** np.arange(5)) % 3)
//                        .reshape(out, -1)[:, :in_] - 1
//   w = q / scales[b] (+ offsets[b]),  b = 0, r, or r · ceil(in / G) + c / G
//
// Version 1 .tqm payload (before state dicts), little-endian:
//   u32 in, u32 out
//   u8 scheme (0 asymmetric, 1 symmetric), u8 granularity (0 tensor,
//   1 channel, 2 group), u8 bits (2..8), u32 group size (power of two >= 16
//   for group granularity, else 0)
//   f32 scales[blocks], f32 offsets[blocks] (asymmetric only)
//   u8  codes[out · row_bytes], f32 bias[out]
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/binary_io.hpp"
#include "core/tensor.hpp"
#include "nn/layer.hpp"
#include "nn/sequential.hpp"
#include "quant/dynamic_int8.hpp"
#include "quant/quantized_matrix.hpp"
#include "quant/scheme.hpp"
#include "quant/weight_only.hpp"

namespace tinyq {

class QuantizedDense : public Layer {
 public:
  // weight: [out, in] (checked with check_consistent); bias: [out].
  QuantizedDense(QuantizedMatrix weight, Tensor bias,
                 QuantizedKernel kernel = QuantizedKernel::weight_only);

  // Switching to dynamic_int8 repacks the weights for the integer kernel
  // (once; any bit width works, codes are shifted into int8).
  void set_kernel(QuantizedKernel kernel);
  QuantizedKernel kernel() const { return kernel_; }

  std::string kind() const override { return "quantized_dense"; }
  std::string describe() const override;  // "QuantizedDense(784 -> 256, asymmetric/channel/8-bit)"
  std::optional<std::size_t> input_features() const override { return weight_.cols; }
  std::optional<std::size_t> output_features() const override { return weight_.rows; }

  const Tensor& forward(const Tensor& x) override;
  // The ReLU applied as each output row is rescaled to float (dynamic int8
  // with 8-bit panels) or each block of outputs is final (weight-only).
  // nullptr for dynamic int8 with low-bit panels.
  const Tensor* forward_then_relu(const Tensor& x) override;
  // Always throws: a quantized layer cannot be trained.
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad) override;
  std::unique_ptr<Layer> clone() const override;
  StateDict state() const override;
  // "weight" as the float weights the codes stand for, and "bias".
  StateDict float_state() const override;
  // Refuses anything inconsistent (check_consistent), naming `where`.
  static std::unique_ptr<Layer> from_state(const StateDict& state, const std::string& where);
  static StateDict state_from_v1_payload(BinaryReader& in);

  std::size_t inputs() const { return weight_.cols; }
  std::size_t outputs() const { return weight_.rows; }
  const QuantizedMatrix& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  // Bytes of the stored layer: packed codes, scales, offsets and float bias.
  std::size_t storage_bytes() const {
    return weight_.storage_bytes() + bias_.size() * sizeof(float);
  }

 private:
  void check_input(const Tensor& x) const;  // [batch, input_features]

  QuantizedMatrix weight_;
  Tensor bias_;
  Tensor output_;
  QuantizedKernel kernel_ = QuantizedKernel::weight_only;
  // The weights in each kernel's layout: immutable, shared by clones.
  std::shared_ptr<const WeightOnlyWeights> weight_only_;
  std::shared_ptr<const DynamicInt8Weights> dynamic_;  // made by set_kernel(dynamic_int8)
};

// Sets the kernel of every QuantizedDense in the model (a run-time choice,
// not stored in files).
void set_quantized_kernel(Sequential& model, QuantizedKernel kernel);

// The quantized weight matrix of a QuantizedDense, nullptr for any other
// layer (for plots that draw a layer's grid).
const QuantizedMatrix* quantized_weight(const Layer& layer);

}  // namespace tinyq
