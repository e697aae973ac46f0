// QuantizedDense: the dequantize-on-the-fly matrix kernel and the payload format.
#include "quant/quantized_dense.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/error.hpp"
#include "core/kernels/isa.hpp"
#include "quant/quantize.hpp"

namespace tinyq {

QuantizedDense::QuantizedDense(QuantizedMatrix weight, Tensor bias, QuantizedKernel kernel)
    : weight_(std::move(weight)), bias_(std::move(bias)) {
  check_consistent(weight_, "QuantizedDense");
  if (weight_.rows == 0 || weight_.cols == 0)
    throw Error(describe() + ": widths must be at least 1");
  if (bias_.rank() != 1 || bias_.size() != weight_.rows)
    throw Error(describe() + ": expected bias [" + std::to_string(weight_.rows) + "], found " +
                bias_.shape().to_string());
  weight_only_ = std::make_shared<const WeightOnlyWeights>(weight_);
  set_kernel(kernel);
}

void QuantizedDense::set_kernel(QuantizedKernel kernel) {
  if (kernel == QuantizedKernel::dynamic_int8 && !dynamic_)
    dynamic_ = std::make_shared<const DynamicInt8Weights>(weight_);
  kernel_ = kernel;
}

std::string QuantizedDense::describe() const {
  return "QuantizedDense(" + std::to_string(weight_.cols) + " -> " + std::to_string(weight_.rows) +
         ", " + to_string(weight_.format) + ")";
}

// y = x · Wᵀ + b with W never formed in float: both paths rewrite the codes
// as int8 with a step and an offset per run (quant/signed_weights.hpp); the
// algebra of each is above its kernel (weight_only.cpp, dynamic_int8.cpp).
const Tensor& QuantizedDense::forward(const Tensor& x) {
  const std::size_t in = weight_.cols;
  if (x.rank() != 2 || x.dim(1) != in)
    throw Error(describe() + ": expected input [batch, " + std::to_string(in) + "], found " +
                x.shape().to_string());
  if (kernel_ == QuantizedKernel::dynamic_int8) {
    dynamic_->forward(active_isa(KernelFamily::int8_gemm), x, bias_.values(), output_);
    return output_;
  }
  weight_only_->forward(active_isa(KernelFamily::widen_gemm), x, bias_.values(), output_);
  return output_;
}

const Tensor& QuantizedDense::backward(const Tensor&, bool) {
  throw Error(describe() +
              ": backward is not supported; quantized layers are for inference only (train the "
              "float model, then quantize it)");
}

std::unique_ptr<Layer> QuantizedDense::clone() const {
  return std::make_unique<QuantizedDense>(*this);  // shares the immutable packed weights
}

void QuantizedDense::save(BinaryWriter& out) const {
  if (weight_.rows > UINT32_MAX || weight_.cols > UINT32_MAX)
    throw Error(describe() + ": too wide for the model file's u32 widths");
  out.u32(static_cast<std::uint32_t>(weight_.cols));
  out.u32(static_cast<std::uint32_t>(weight_.rows));
  out.u8(static_cast<std::uint8_t>(weight_.format.scheme));
  out.u8(static_cast<std::uint8_t>(weight_.format.granularity));
  out.u8(static_cast<std::uint8_t>(weight_.format.bits));
  out.u32(static_cast<std::uint32_t>(weight_.format.group_size));
  out.f32_array(weight_.scales);
  out.f32_array(weight_.offsets);
  out.raw(weight_.codes);
  out.f32_array(bias_.values());
}

std::unique_ptr<Layer> QuantizedDense::load(BinaryReader& in) {
  QuantizedMatrix q;
  q.cols = in.u32();
  q.rows = in.u32();
  if (q.rows == 0 || q.cols == 0)
    in.fail("quantized_dense layer with " + std::to_string(q.cols) + " inputs and " +
            std::to_string(q.rows) + " outputs");
  const std::uint8_t scheme = in.u8();
  const std::uint8_t granularity = in.u8();
  const std::uint8_t bits = in.u8();
  const std::uint32_t group_size = in.u32();
  if (scheme > 1)
    in.fail("unknown quantization scheme " + std::to_string(scheme) +
            " (expected 0 asymmetric or 1 symmetric)");
  if (granularity > 2)
    in.fail("unknown quantization granularity " + std::to_string(granularity) +
            " (expected 0 tensor, 1 channel or 2 group)");
  q.format = {static_cast<Scheme>(scheme), static_cast<Granularity>(granularity), bits, group_size};
  try {
    validate(q.format);
  } catch (const Error& e) {
    in.fail(e.what());
  }
  if (q.format.granularity != Granularity::group && group_size != 0)
    in.fail("group size must be 0 unless granularity is group, found " +
            std::to_string(group_size));

  // Every size below is < 2^61 (rows, cols < 2^32, group size >= 16), and
  // the products are compared with what remains before anything is allocated.
  const std::uint64_t floats_per_block = q.format.scheme == Scheme::asymmetric ? 2 : 1;
  const std::uint64_t block_floats = q.block_count() * floats_per_block;
  const std::uint64_t row_bytes = q.row_bytes();
  if (block_floats + q.rows > in.remaining() / 4 ||
      q.rows > (in.remaining() - (block_floats + q.rows) * 4) / row_bytes)
    in.fail("quantized_dense " + std::to_string(q.cols) + " -> " + std::to_string(q.rows) + " " +
            to_string(q.format) + " needs " + std::to_string(block_floats + q.rows) +
            " floats and " + std::to_string(q.rows) + " x " + std::to_string(row_bytes) +
            " code bytes, only " + std::to_string(in.remaining()) + " bytes remain");
  q.scales.resize(q.block_count());
  in.f32_array(q.scales);
  if (q.format.scheme == Scheme::asymmetric) {
    q.offsets.resize(q.block_count());
    in.f32_array(q.offsets);
  }
  const auto codes = in.raw(q.rows * row_bytes);
  q.codes.assign(codes.begin(), codes.end());
  Tensor bias(Shape{q.rows});
  in.f32_array(bias.values());
  try {
    return std::make_unique<QuantizedDense>(std::move(q), std::move(bias));
  } catch (const Error& e) {
    in.fail(e.what());
  }
}

}  // namespace tinyq
