// StaticInt8Dense: checks, the integer forward (the algebra is in the
// header) and the state dict.
#include "quant/static_int8/static_dense.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "core/kernels/isa.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

constexpr const char* state_version = "1";

// Rows per block of the float adapter's work (codes and sums stay in cache).
constexpr std::size_t rows_per_block = 48;

StateTensor of_i32(std::vector<std::uint64_t> shape, const std::vector<std::int32_t>& values) {
  StateTensor t{Dtype::i32, std::move(shape), {}};
  t.bytes.reserve(values.size() * 4);
  for (const std::int32_t v : values)
    for (int byte = 0; byte < 4; ++byte)
      t.bytes.push_back(static_cast<std::uint8_t>(static_cast<std::uint32_t>(v) >> (8 * byte)));
  return t;
}

std::vector<std::int32_t> i32_values(const StateTensor& t) {
  std::vector<std::int32_t> values(t.bytes.size() / 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t v = 0;
    for (int byte = 0; byte < 4; ++byte) v |= std::uint32_t{t.bytes[4 * i + byte]} << (8 * byte);
    values[i] = static_cast<std::int32_t>(v);
  }
  return values;
}

bool positive_finite(float v) {
  return std::isfinite(v) && v > 0.0f;
}

}  // namespace

QuantizedMultiplier requant_multiplier(float input_scale, float weight_scale, float output_scale) {
  return quantize_multiplier(double(input_scale) * double(weight_scale) / double(output_scale));
}

StaticInt8Dense::StaticInt8Dense(Params params) : params_(std::move(params)) {
  const Params& p = params_;
  const std::string name = "StaticInt8Dense";
  if (p.in == 0 || p.out == 0) throw Error(name + ": widths must be at least 1");
  if (p.weight.size() != p.in * p.out || p.weight_scale.size() != p.out || p.bias.size() != p.out ||
      p.multiplier.size() != p.out)
    throw Error(name + ": expected weight [" + std::to_string(p.out) + ", " + std::to_string(p.in) +
                "] and " + std::to_string(p.out) + " scales, biases and multipliers");
  if (!positive_finite(p.input.scale) || !positive_finite(p.output.scale))
    throw Error(name + ": input and output scales must be positive and finite");
  if (p.input.zero_point < 0 || p.input.zero_point > 255 || p.output.zero_point < 0 ||
      p.output.zero_point > 255 || (p.scores && p.output.zero_point != 0))
    throw Error(name + ": zero points must be in 0..255 (0 for scores), found input " +
                std::to_string(p.input.zero_point) + ", output " +
                std::to_string(p.output.zero_point));
  if (p.scores && p.relu) throw Error(name + ": a score layer has no ReLU clamp");
  folded_bias_.resize(p.out);
  for (std::size_t j = 0; j < p.out; ++j) {
    const std::string output = name + ": output " + std::to_string(j);
    if (!positive_finite(p.weight_scale[j]))
      throw Error(output + ": weight scale must be positive and finite");
    if (p.multiplier[j] != requant_multiplier(p.input.scale, p.weight_scale[j], p.output.scale))
      throw Error(output + ": requant multiplier " + std::to_string(p.multiplier[j].m0) +
                  " shift " + std::to_string(p.multiplier[j].shift) +
                  " does not match the layer's scales");
    std::int64_t weight_sum = 0;
    for (std::size_t i = 0; i < p.in; ++i) weight_sum += p.weight[j * p.in + i];
    const std::int64_t folded = std::int64_t{p.bias[j]} - p.input.zero_point * weight_sum;
    // acc_j = Σ a·w + folded must stay inside int32 for every possible input.
    const std::int64_t headroom = std::int64_t{255} * 128 * std::int64_t(p.in);
    if (std::llabs(folded) + headroom > std::numeric_limits<std::int32_t>::max())
      throw Error(output + ": bias " + std::to_string(p.bias[j]) +
                  " leaves no int32 headroom for the sum of products");
    folded_bias_[j] = static_cast<std::int32_t>(folded);
    m0_.push_back(p.multiplier[j].m0);
    shift_.push_back(p.multiplier[j].shift);
    right_shifts_only_ = right_shifts_only_ && p.multiplier[j].shift <= 0;
  }
  // Weights within ±64 (7 bits or fewer) leave u8 × s8 pair sums inside
  // int16, so int8_gemm_narrow's vpmaddubsw kernel is exact on them and the
  // pairs layout is not needed; 8-bit weights go through int8_gemm_pairs.
  Int8Panels bytes = pack_int8_panels(p.out, p.in, p.weight.data(), p.in);
  narrow_ = int8_pair_sums_fit_int16(255, bytes.max_abs);
  panels_ = std::make_shared<const Int8PairPanels>(
      narrow_ ? Int8PairPanels{std::move(bytes), 0, {}}
              : pack_int8_pair_panels(p.out, p.in, p.weight.data(), p.in));
}

void StaticInt8Dense::products(Isa isa, std::size_t rows, const std::uint8_t* a, std::size_t lda,
                               std::size_t j_begin, std::size_t j_end, std::int32_t* acc) const {
  if (narrow_)
    int8_gemm_narrow(isa, rows, a, lda, 255, panels_->bytes, j_begin, j_end, acc, params_.out);
  else
    int8_gemm_pairs(isa, rows, a, lda, *panels_, j_begin, j_end, acc, params_.out);
}

std::string StaticInt8Dense::describe() const {
  return "StaticInt8Dense(" + std::to_string(params_.in) + " -> " + std::to_string(params_.out) +
         (params_.scores ? ", int32 scores" : ", u8 out") + (params_.relu ? ", relu)" : ")");
}

RequantTable StaticInt8Dense::requant_table(std::size_t j_begin, std::size_t j_end) const {
  return {j_end - j_begin, folded_bias_.data() + j_begin, m0_.data() + j_begin,
          shift_.data() + j_begin, right_shifts_only_};
}

void StaticInt8Dense::forward_codes(Isa isa, std::size_t rows, const std::uint8_t* a,
                                    std::size_t lda, std::size_t j_begin, std::size_t j_end,
                                    std::int32_t* acc, std::uint8_t* codes, std::size_t ldo) const {
  const std::size_t out = params_.out;
  products(isa, rows, a, lda, j_begin, j_end, acc);
  const std::int32_t zero_point = params_.output.zero_point;
  const std::int32_t lo = (params_.relu ? zero_point : 0) - zero_point;
  const RequantTable table = requant_table(j_begin, j_end);
  for (std::size_t r = 0; r < rows; ++r)
    requantize_codes(isa, table, acc + r * out + j_begin, lo, 255 - zero_point, zero_point,
                     codes + r * ldo + j_begin);
}

void StaticInt8Dense::forward_scores(Isa isa, std::size_t rows, const std::uint8_t* a,
                                     std::size_t lda, std::size_t j_begin, std::size_t j_end,
                                     std::int32_t* scores) const {
  const std::size_t out = params_.out;
  products(isa, rows, a, lda, j_begin, j_end, scores);
  const RequantTable table = requant_table(j_begin, j_end);
  for (std::size_t r = 0; r < rows; ++r)
    requantize_scores(isa, table, scores + r * out + j_begin, scores + r * out + j_begin);
}

// The float edge: x -> codes, the integer layer, codes -> (code - z)·s.
const Tensor& StaticInt8Dense::forward(const Tensor& x) {
  const Params& p = params_;
  if (x.rank() != 2 || x.dim(1) != p.in)
    throw Error(describe() + ": expected input [batch, " + std::to_string(p.in) + "], found " +
                x.shape().to_string());
  const std::size_t batch = x.dim(0);
  output_.resize(Shape{batch, p.out});
  const Isa isa = active_isa(KernelFamily::int8_gemm);
  parallel_for(batch, 1, [&](std::size_t row_begin, std::size_t row_end) {
    const std::size_t lda = padded_inputs();
    std::vector<std::uint8_t> a(std::min(rows_per_block, row_end - row_begin) * lda, 0);
    std::vector<std::int32_t> acc(rows_per_block * p.out);
    std::vector<std::uint8_t> codes(rows_per_block * p.out);
    for (std::size_t r0 = row_begin; r0 < row_end; r0 += rows_per_block) {
      const std::size_t rows = std::min(rows_per_block, row_end - r0);
      for (std::size_t r = 0; r < rows; ++r) {
        const auto row = x.row(r0 + r);
        for (std::size_t i = 0; i < p.in; ++i) {
          const float code = std::nearbyint(row[i] / p.input.scale) + float(p.input.zero_point);
          a[r * lda + i] = static_cast<std::uint8_t>(std::clamp(code, 0.0f, 255.0f));
        }
      }
      float* y = output_.data() + r0 * p.out;
      if (p.scores) {
        forward_scores(isa, rows, a.data(), lda, acc.data());
        for (std::size_t e = 0; e < rows * p.out; ++e) y[e] = float(acc[e]) * p.output.scale;
      } else {
        forward_codes(isa, rows, a.data(), lda, acc.data(), codes.data(), p.out);
        for (std::size_t e = 0; e < rows * p.out; ++e)
          y[e] = float(std::int32_t{codes[e]} - p.output.zero_point) * p.output.scale;
      }
    }
  });
  return output_;
}

const Tensor& StaticInt8Dense::backward(const Tensor&, bool) {
  throw Error(describe() +
              ": backward is not supported; quantized layers are for inference only (train the "
              "float model, then quantize it)");
}

std::unique_ptr<Layer> StaticInt8Dense::clone() const {
  return std::make_unique<StaticInt8Dense>(*this);
}

StateDict StaticInt8Dense::state() const {
  const Params& p = params_;
  StateDict s;
  s.add("weight",
        StateTensor{
            Dtype::i8, {p.out, p.in}, std::vector<std::uint8_t>(p.weight.begin(), p.weight.end())});
  s.add("weight.scale", StateTensor::of_floats({p.out}, p.weight_scale));
  s.add("bias", of_i32({p.out}, p.bias));
  std::vector<std::int32_t> m0(p.out), shift(p.out);
  for (std::size_t j = 0; j < p.out; ++j) {
    m0[j] = p.multiplier[j].m0;
    shift[j] = p.multiplier[j].shift;
  }
  s.add("requant.multiplier", of_i32({p.out}, m0));
  s.add("requant.shift", of_i32({p.out}, shift));
  s.add("input.scale", StateTensor::of_floats({1}, std::vector<float>{p.input.scale}));
  s.add("input.zero_point", of_i32({1}, {p.input.zero_point}));
  s.add("output.scale", StateTensor::of_floats({1}, std::vector<float>{p.output.scale}));
  s.add("output.zero_point", of_i32({1}, {p.output.zero_point}));
  s.attributes["output"] = std::string(p.scores ? "scores" : "u8");
  s.attributes["activation"] = std::string(p.relu ? "relu" : "none");
  s.attributes["version"] = state_version;
  return s;
}

StateDict StaticInt8Dense::float_state() const {
  const Params& p = params_;
  std::vector<float> weight(p.in * p.out), bias(p.out);
  for (std::size_t j = 0; j < p.out; ++j) {
    for (std::size_t i = 0; i < p.in; ++i)
      weight[j * p.in + i] = float(p.weight[j * p.in + i]) * p.weight_scale[j];
    bias[j] = float(double(p.bias[j]) * double(p.input.scale) * double(p.weight_scale[j]));
  }
  StateDict s;
  s.add("weight", StateTensor::of_floats({p.out, p.in}, weight));
  s.add("bias", StateTensor::of_floats({p.out}, bias));
  return s;
}

std::unique_ptr<Layer> StaticInt8Dense::from_state(const StateDict& state,
                                                   const std::string& where) {
  StateReader reader(state, where);
  const std::string version = reader.attribute("version");
  if (version != state_version)
    throw Error(where + ": static_int8_dense state version \"" + version +
                "\" is not known to this tinyq (it reads version " + state_version + ")");
  Params p;
  const StateTensor& weight = reader.tensor_of_rank("weight", Dtype::i8, 2);
  p.out = weight.shape[0];
  p.in = weight.shape[1];
  p.weight.assign(weight.bytes.begin(), weight.bytes.end());
  p.weight_scale = reader.tensor("weight.scale", Dtype::f32, {p.out}).floats();
  p.bias = i32_values(reader.tensor("bias", Dtype::i32, {p.out}));
  const auto m0 = i32_values(reader.tensor("requant.multiplier", Dtype::i32, {p.out}));
  const auto shift = i32_values(reader.tensor("requant.shift", Dtype::i32, {p.out}));
  for (std::size_t j = 0; j < p.out; ++j) p.multiplier.push_back({m0[j], shift[j]});
  p.input.scale = reader.tensor("input.scale", Dtype::f32, {1}).floats()[0];
  p.input.zero_point = i32_values(reader.tensor("input.zero_point", Dtype::i32, {1}))[0];
  p.output.scale = reader.tensor("output.scale", Dtype::f32, {1}).floats()[0];
  p.output.zero_point = i32_values(reader.tensor("output.zero_point", Dtype::i32, {1}))[0];
  const std::string& output = reader.attribute("output");
  const std::string& activation = reader.attribute("activation");
  if (output != "u8" && output != "scores")
    throw Error(where + ": attribute output must be \"u8\" or \"scores\", found \"" + output +
                "\"");
  if (activation != "relu" && activation != "none")
    throw Error(where + ": attribute activation must be \"relu\" or \"none\", found \"" +
                activation + "\"");
  p.scores = output == "scores";
  p.relu = activation == "relu";
  reader.finish();
  try {
    return std::make_unique<StaticInt8Dense>(std::move(p));
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

}  // namespace tinyq
