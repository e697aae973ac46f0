// QuantizedDense: forward through the dequantize-on-the-fly kernels, and the
// layer's state dict (and its version 1 payload) in and out.
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
  check_input(x);
  if (kernel_ == QuantizedKernel::dynamic_int8) {
    dynamic_->forward(active_isa(KernelFamily::int8_gemm), x, bias_.values(), output_);
    return output_;
  }
  weight_only_->forward(active_isa(KernelFamily::widen_gemm), x, bias_.values(), output_);
  return output_;
}

const Tensor* QuantizedDense::forward_then_relu(const Tensor& x) {
  check_input(x);
  if (kernel_ == QuantizedKernel::dynamic_int8)
    dynamic_->forward(active_isa(KernelFamily::int8_gemm), x, bias_.values(), output_,
                      /*relu=*/true);
  else
    weight_only_->forward(active_isa(KernelFamily::widen_gemm), x, bias_.values(), output_,
                          /*relu=*/true);
  return &output_;
}

void QuantizedDense::check_input(const Tensor& x) const {
  const std::size_t in = weight_.cols;
  if (x.rank() != 2 || x.dim(1) != in)
    throw Error(describe() + ": expected input [batch, " + std::to_string(in) + "], found " +
                x.shape().to_string());
}

const Tensor& QuantizedDense::backward(const Tensor&, bool) {
  throw Error(describe() +
              ": backward is not supported; quantized layers are for inference only (train the "
              "float model, then quantize it)");
}

std::unique_ptr<Layer> QuantizedDense::clone() const {
  return std::make_unique<QuantizedDense>(*this);  // shares the immutable packed weights
}

namespace {

// Version 2 adds weight.zero_points; matrices without them are still written
// as version 1, byte for byte as before.
constexpr const char* state_version = "1";
constexpr const char* zero_point_version = "2";

std::string shape_text(std::size_t rows, std::size_t cols) {
  return std::to_string(rows) + "," + std::to_string(cols);
}

}  // namespace

StateDict QuantizedDense::state() const {
  StateDict state;
  state.add("weight.codes", StateTensor::of_u8({weight_.rows, weight_.row_bytes()}, weight_.codes));
  state.add("weight.scales", StateTensor::of_floats({weight_.scales.size()}, weight_.scales));
  if (!weight_.offsets.empty())
    state.add("weight.offsets", StateTensor::of_floats({weight_.offsets.size()}, weight_.offsets));
  if (!weight_.zero_points.empty())
    state.add("weight.zero_points",
              StateTensor::of_u8({weight_.zero_points.size()}, weight_.zero_points));
  state.add("bias", StateTensor::of_floats({weight_.rows}, bias_.values()));
  state.attributes = {
      {"weight.format", format_tag(weight_.format)},
      {"weight.shape", shape_text(weight_.rows, weight_.cols)},
      {"version", weight_.zero_points.empty() ? state_version : zero_point_version}};
  return state;
}

StateDict QuantizedDense::float_state() const {
  StateDict state;
  state.add("weight",
            StateTensor::of_floats({weight_.rows, weight_.cols}, dequantize(weight_).values()));
  state.add("bias", StateTensor::of_floats({weight_.rows}, bias_.values()));
  return state;
}

std::unique_ptr<Layer> QuantizedDense::from_state(const StateDict& state,
                                                  const std::string& where) {
  StateReader reader(state, where);
  const std::string version = reader.attribute_or("version", state_version);
  if (version != state_version && version != zero_point_version)
    throw Error(where + ": quantized_dense state version \"" + version +
                "\" is not known to this tinyq (it reads versions 1 and 2)");
  QuantizedMatrix w;
  const std::string& format = reader.attribute("weight.format");
  try {
    w.format = parse_format_tag(format);
  } catch (const Error& e) {
    throw Error(where + ": weight.format \"" + format + "\": " + e.what());
  }
  const std::string& shape = reader.attribute("weight.shape");
  const auto comma = shape.find(',');
  const auto number = [](const std::string& text) -> std::size_t {
    if (text.empty() || text.size() > 8 || text[0] == '0') return 0;
    std::size_t value = 0;
    for (const char c : text) {
      if (c < '0' || c > '9') return 0;
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    return value <= (std::size_t{1} << 24) ? value : 0;
  };
  w.rows = comma == std::string::npos ? 0 : number(shape.substr(0, comma));
  w.cols = comma == std::string::npos ? 0 : number(shape.substr(comma + 1));
  if (w.rows == 0 || w.cols == 0)
    throw Error(where + ": weight.shape must be \"out,in\" (each 1 to 2^24), found \"" + shape +
                "\"");
  w.codes = reader.tensor("weight.codes", Dtype::u8, {w.rows, w.row_bytes()}).bytes;
  w.scales = reader.tensor("weight.scales", Dtype::f32, {w.block_count()}).floats();
  if (w.format.scheme == Scheme::asymmetric)
    w.offsets = reader.tensor("weight.offsets", Dtype::f32, {w.block_count()}).floats();
  if (version == zero_point_version) {
    if (w.format.scheme != Scheme::asymmetric)
      throw Error(where + ": version 2 (zero points) needs an asymmetric format, found \"" +
                  format + "\"");
    w.zero_points = reader.tensor("weight.zero_points", Dtype::u8, {w.block_count()}).bytes;
  }
  Tensor bias = reader.floats("bias", {w.rows});
  reader.finish();
  try {
    return std::make_unique<QuantizedDense>(std::move(w), std::move(bias));
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

StateDict QuantizedDense::state_from_v1_payload(BinaryReader& in) {
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
  std::vector<float> scales(q.block_count()), offsets, bias(q.rows);
  in.f32_array(scales);
  if (q.format.scheme == Scheme::asymmetric) {
    offsets.resize(q.block_count());
    in.f32_array(offsets);
  }
  const auto codes = in.raw(q.rows * row_bytes);
  in.f32_array(bias);

  StateDict state;
  state.add("weight.codes", StateTensor::of_u8({q.rows, row_bytes}, {codes.begin(), codes.end()}));
  state.add("weight.scales", StateTensor::of_floats({scales.size()}, scales));
  if (!offsets.empty())
    state.add("weight.offsets", StateTensor::of_floats({offsets.size()}, offsets));
  state.add("bias", StateTensor::of_floats({q.rows}, bias));
  state.attributes["weight.format"] = format_tag(q.format);
  state.attributes["weight.shape"] = shape_text(q.rows, q.cols);
  return state;
}

void set_quantized_kernel(Sequential& model, QuantizedKernel kernel) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (auto* layer = dynamic_cast<QuantizedDense*>(&model.layer(i))) layer->set_kernel(kernel);
}

const QuantizedMatrix* quantized_weight(const Layer& layer) {
  const auto* quantized = dynamic_cast<const QuantizedDense*>(&layer);
  return quantized ? &quantized->weight() : nullptr;
}

}  // namespace tinyq
