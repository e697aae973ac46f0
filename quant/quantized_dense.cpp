// QuantizedDense: the dequantize-on-the-fly matrix kernel and the payload format.
#include "quant/quantized_dense.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "quant/quantize.hpp"

namespace tinyq {

namespace {

// Block sizes of the kernel: 4 x rows times 16 weight rows, 64 running sums.
// The fastest of the shapes measured with baseline x86-64 (SSE2) code; at
// 4 x 8 or 2 x 16 g++ 12 vectorizes the loop over i instead and runs ~5x slower.
constexpr std::size_t rows_per_block = 4;
constexpr std::size_t weight_rows_per_block = 16;
constexpr std::size_t rows_per_tile = 64;  // x rows kept in cache while a thread sweeps its j

// dots[k * C + c] = Σ_{i<n} x[k][i] · qt[i * C + c] for R rows of x and the C
// weight rows interleaved in qt (weight row c's code i at qt[i * C + c]).
// Each step of i is an outer product: R broadcast inputs times one C-wide
// vector of weights into R × C independent sums, which the compiler keeps in
// vector registers without reordering any sum (each one runs over i in
// order, so an output does not depend on which block it was computed in).
// Kept out of line so that how the compiler vectorizes it does not depend on
// the caller (inlined into forward, g++ 12 left it scalar).
template <std::size_t R, std::size_t C>
[[gnu::noinline]] void dot_tile(const float* const* x, const float* qt, std::size_t n,
                                float* dots) {
  float acc[R][C] = {};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < R; ++k)
      for (std::size_t c = 0; c < C; ++c) acc[k][c] += x[k][i] * qt[i * C + c];
  for (std::size_t k = 0; k < R; ++k)
    for (std::size_t c = 0; c < C; ++c) dots[k * C + c] = acc[k][c];
}

}  // namespace

QuantizedDense::QuantizedDense(QuantizedMatrix weight, Tensor bias, QuantizedKernel kernel)
    : weight_(std::move(weight)), bias_(std::move(bias)) {
  check_consistent(weight_, "QuantizedDense");
  if (weight_.rows == 0 || weight_.cols == 0)
    throw Error(describe() + ": widths must be at least 1");
  if (bias_.rank() != 1 || bias_.size() != weight_.rows)
    throw Error(describe() + ": expected bias [" + std::to_string(weight_.rows) + "], found " +
                bias_.shape().to_string());
  inverse_scales_.resize(weight_.scales.size());
  for (std::size_t b = 0; b < weight_.scales.size(); ++b)
    inverse_scales_[b] = 1.0f / weight_.scales[b];
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

// y[r, j] = Σ_i x[r, i] · w[j, i] + b[j], with w never formed in float.
//
// Split row j of W into its runs g (the whole row for tensor and channel
// granularity, groups of G inputs for group granularity). Inside a run every
// weight shares scale s and offset m: w[j, i] = q[j, i] / s + m. So
//
//   Σ_{i∈g} x_i · w_ji = (1/s) · Σ_{i∈g} x_i · q_ji  +  m · Σ_{i∈g} x_i
//
// and y[r, j] = Σ_g [ (1/s_jg) · dot_g(x_r, q_j) + m_jg · sum_g(x_r) ] + b_j.
// The dot runs over integer codes (turned into floats for 16 rows at a time
// in a small scratch tile), sum_g(x_r) is the same for every j and computed
// once per forward, and for symmetric schemes m = 0 and the second term vanishes. For
// per-channel asymmetric this is y_j = (1/s_j)·Σ_i x_i·q_ji + m_j·Σ_i x_i + b_j.
const Tensor& QuantizedDense::forward(const Tensor& x) {
  const std::size_t in = weight_.cols;
  const std::size_t out = weight_.rows;
  if (x.rank() != 2 || x.dim(1) != in)
    throw Error(describe() + ": expected input [batch, " + std::to_string(in) + "], found " +
                x.shape().to_string());
  if (kernel_ == QuantizedKernel::dynamic_int8) {
    static const Isa int8_isa = default_int8_isa();
    dynamic_->forward(int8_isa, x, bias_.values(), output_);
    return output_;
  }
  const std::size_t batch = x.dim(0);
  const std::size_t runs = weight_.runs_per_row();
  const std::size_t step = weight_.block_columns();
  const bool has_offsets = weight_.format.scheme == Scheme::asymmetric;
  output_.resize(Shape{batch, out});

  if (has_offsets) {
    run_sums_.resize(Shape{batch, runs});
    for (std::size_t r = 0; r < batch; ++r)
      for (std::size_t g = 0; g < runs; ++g) {
        const auto run = x.row(r).subspan(g * step, std::min(step, in - g * step));
        float sum = 0.0f;
        for (const float v : run) sum += v;
        run_sums_(r, g) = sum;
      }
  }

  constexpr std::size_t R = rows_per_block;
  constexpr std::size_t C = weight_rows_per_block;
  parallel_for(out, C, [&](std::size_t j_begin, std::size_t j_end) {
    // The only scratch: C weight rows as floats, interleaved for dot_tile
    // (rows past the end of the range stay zero).
    std::vector<float> row(in);
    std::vector<float> tile_codes(C * in);
    for (std::size_t tile = 0; tile < batch; tile += rows_per_tile) {
      const std::size_t tile_end = std::min(batch, tile + rows_per_tile);
      for (std::size_t j = j_begin; j < j_end; j += C) {
        const std::size_t weight_rows = std::min(C, j_end - j);
        std::fill(tile_codes.begin(), tile_codes.end(), 0.0f);
        for (std::size_t c = 0; c < weight_rows; ++c) {
          unpack_codes(weight_.row_codes(j + c), weight_.format.bits, weight_.is_signed(),
                       std::span(row));
          for (std::size_t i = 0; i < in; ++i) tile_codes[i * C + c] = row[i];
        }
        for (std::size_t r = tile; r < tile_end; r += R) {
          const std::size_t count = std::min(R, tile_end - r);
          float acc[R * C] = {};
          for (std::size_t g = 0; g < runs; ++g) {
            const std::size_t begin = g * step;
            // Missing x rows repeat the last one; their sums are dropped.
            const float* xs[R];
            for (std::size_t k = 0; k < R; ++k)
              xs[k] = x.data() + (r + std::min(k, count - 1)) * in + begin;
            float dots[R * C];
            dot_tile<R, C>(xs, tile_codes.data() + begin * C, std::min(step, in - begin), dots);
            for (std::size_t c = 0; c < weight_rows; ++c) {
              const std::size_t block = weight_.block_index(j + c, g);
              for (std::size_t k = 0; k < count; ++k) {
                acc[k * C + c] += dots[k * C + c] * inverse_scales_[block];
                if (has_offsets) acc[k * C + c] += weight_.offsets[block] * run_sums_(r + k, g);
              }
            }
          }
          for (std::size_t k = 0; k < count; ++k)
            for (std::size_t c = 0; c < weight_rows; ++c)
              output_(r + k, j + c) = acc[k * C + c] + bias_[j + c];
        }
      }
    }
  });
  return output_;
}

const Tensor& QuantizedDense::backward(const Tensor&, bool) {
  throw Error(describe() +
              ": backward is not supported; quantized layers are for inference only (train the "
              "float model, then quantize it)");
}

std::unique_ptr<Layer> QuantizedDense::clone() const {
  auto copy = std::make_unique<QuantizedDense>(weight_, bias_);
  copy->kernel_ = kernel_;
  copy->dynamic_ = dynamic_;
  return copy;
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
