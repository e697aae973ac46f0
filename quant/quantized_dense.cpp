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

constexpr std::size_t lanes = 8;           // independent partial sums per row
constexpr std::size_t rows_per_block = 4;  // x rows that share one read of a weight row
constexpr std::size_t rows_per_tile = 64;  // x rows kept hot in cache while j sweeps

// dots[k] = Σ_{i<n} x[k][i] · q[i] for R rows of x at once, so each weight is
// loaded once per R rows. The `lanes` partial sums let the compiler keep them
// in vector registers (float addition is not associative, so it may not
// reorder a single running sum itself). Every row is summed in the same order
// whatever R is: a row's output does not depend on its neighbours in the batch.
template <std::size_t R>
void dot_rows(const float* const* x, const float* q, std::size_t n, float* dots) {
  float partial[R][lanes] = {};
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (std::size_t k = 0; k < R; ++k)
      for (std::size_t l = 0; l < lanes; ++l) partial[k][l] += x[k][i + l] * q[i + l];
  for (std::size_t k = 0; k < R; ++k) {
    float tail = 0.0f;
    for (std::size_t t = i; t < n; ++t) tail += x[k][t] * q[t];
    float sum = 0.0f;
    for (std::size_t l = 0; l < lanes; ++l) sum += partial[k][l];
    dots[k] = sum + tail;
  }
}

}  // namespace

QuantizedDense::QuantizedDense(QuantizedMatrix weight, Tensor bias)
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
// The dot runs over integer codes (turned into floats one row at a time in a
// scratch row), sum_g(x_r) is the same for every j and computed once per
// forward, and for symmetric schemes m = 0 and the second term vanishes. For
// per-channel asymmetric this is y_j = (1/s_j)·Σ_i x_i·q_ji + m_j·Σ_i x_i + b_j.
const Tensor& QuantizedDense::forward(const Tensor& x) {
  const std::size_t in = weight_.cols;
  const std::size_t out = weight_.rows;
  if (x.rank() != 2 || x.dim(1) != in)
    throw Error(describe() + ": expected input [batch, " + std::to_string(in) + "], found " +
                x.shape().to_string());
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

  parallel_for(out, 1, [&](std::size_t j_begin, std::size_t j_end) {
    std::vector<float> q(in);  // one weight row as floats: the only scratch
    for (std::size_t tile = 0; tile < batch; tile += rows_per_tile) {
      const std::size_t tile_end = std::min(batch, tile + rows_per_tile);
      for (std::size_t j = j_begin; j < j_end; ++j) {
        unpack_codes(weight_.row_codes(j), weight_.format.bits, weight_.is_signed(), std::span(q));
        for (std::size_t r = tile; r < tile_end; r += rows_per_block) {
          const std::size_t count = std::min(rows_per_block, tile_end - r);
          const float* rows[rows_per_block];
          for (std::size_t k = 0; k < count; ++k) rows[k] = x.data() + (r + k) * in;
          float acc[rows_per_block] = {};
          for (std::size_t g = 0; g < runs; ++g) {
            const std::size_t begin = g * step;
            const std::size_t length = std::min(step, in - begin);
            const std::size_t block = weight_.block_index(j, g);
            float dots[rows_per_block];
            if (count == rows_per_block) {
              const float* shifted[rows_per_block];
              for (std::size_t k = 0; k < count; ++k) shifted[k] = rows[k] + begin;
              dot_rows<rows_per_block>(shifted, q.data() + begin, length, dots);
            } else {
              for (std::size_t k = 0; k < count; ++k) {
                const float* one = rows[k] + begin;
                dot_rows<1>(&one, q.data() + begin, length, &dots[k]);
              }
            }
            for (std::size_t k = 0; k < count; ++k) {
              acc[k] += dots[k] * inverse_scales_[block];
              if (has_offsets) acc[k] += weight_.offsets[block] * run_sums_(r + k, g);
            }
          }
          for (std::size_t k = 0; k < count; ++k) output_(r + k, j) = acc[k] + bias_[j];
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
  return std::make_unique<QuantizedDense>(weight_, bias_);
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
