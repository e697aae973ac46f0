// The end-to-end grid tuning of scale_tuning.hpp.
#include "quant/scale_tuning.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "quant/quantize.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

namespace {

// Min-max asymmetric blocks (no zero points) are the ones whose offset is tuned.
bool tunes_shift(const QuantizedMatrix& q) {
  return q.format.scheme == Scheme::asymmetric && q.zero_points.empty();
}

// Block b's step s = 1 / scale and shift (ŵ = s · (q + shift)).
double step_of(const QuantizedMatrix& q, std::size_t b) {
  return 1.0 / double(q.scales[b]);
}
double shift_of(const QuantizedMatrix& q, std::size_t b) {
  if (!q.zero_points.empty()) return -double(q.zero_points[b]);
  return tunes_shift(q) ? double(q.offsets[b]) * double(q.scales[b]) : 0.0;
}

// Calls f(block, begin, end) for each block's run of the row-major weights.
template <class F>
void for_each_run(const QuantizedMatrix& q, F f) {
  const std::size_t runs = q.runs_per_row(), length = q.block_columns();
  for (std::size_t r = 0; r < q.rows; ++r)
    for (std::size_t g = 0; g < runs; ++g)
      f(q.block_index(r, g), r * q.cols + g * length,
        r * q.cols + std::min(q.cols, (g + 1) * length));
}

// Adam on a vector of parameters, in double.
class Adam {
 public:
  explicit Adam(std::size_t size) : m_(size, 0.0), v_(size, 0.0) {}
  void step(std::span<double> x, std::span<const double> g, double rate, std::size_t t) {
    constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-12;
    const double correction1 = 1.0 - std::pow(beta1, double(t));
    const double correction2 = 1.0 - std::pow(beta2, double(t));
    for (std::size_t i = 0; i < x.size(); ++i) {
      m_[i] = beta1 * m_[i] + (1.0 - beta1) * g[i];
      v_[i] = beta2 * v_[i] + (1.0 - beta2) * g[i] * g[i];
      x[i] -= rate * (m_[i] / correction1) / (std::sqrt(v_[i] / correction2) + epsilon);
    }
  }

 private:
  std::vector<double> m_, v_;
};

// One QuantizedDense being tuned. `matrix` is always the stored form of the
// current parameters, and the student's Dense holds dequantize(matrix): the
// weights tuning sees are exactly those the quantized layer will compute with.
struct TunedLayer {
  std::size_t index;  // in the model
  QuantizedMatrix matrix;
  QuantizedKernel kernel;
  std::vector<std::int32_t> codes;            // unpacked, [rows, cols]
  std::vector<double> log_step, shift, bias;  // Adam's copies, in double
  Adam step_adam, shift_adam, bias_adam;

  TunedLayer(std::size_t i, const QuantizedDense& layer)
      : index(i),
        matrix(layer.weight()),
        kernel(layer.kernel()),
        codes(matrix.rows * matrix.cols),
        log_step(matrix.block_count()),
        shift(matrix.block_count()),
        bias(layer.bias().data(), layer.bias().data() + layer.bias().size()),
        step_adam(log_step.size()),
        shift_adam(shift.size()),
        bias_adam(bias.size()) {
    for (std::size_t r = 0; r < matrix.rows; ++r)
      matrix.unpack_row(r, std::span(codes).subspan(r * matrix.cols, matrix.cols));
    for (std::size_t b = 0; b < log_step.size(); ++b) {
      log_step[b] = std::log(step_of(matrix, b));
      shift[b] = shift_of(matrix, b);
    }
  }

  void write_weights(Dense& dense) const {
    const Tensor w = dequantize(matrix);
    std::copy_n(w.data(), w.size(), dense.weight().data());
    std::copy(bias.begin(), bias.end(), dense.bias().data());
  }

  // One Adam step on the gradients of the last backward, then the stored
  // form of the new parameters: scale = 1 / s, offsets as quantize writes them.
  void update(const Dense& dense, double rate, std::size_t t, bool biases) {
    const std::span<const float> weight_grad(dense.weight_grad().data(), codes.size());
    const GridGradient g = grid_gradient(matrix, codes, weight_grad);
    step_adam.step(log_step, g.log_step, rate, t);
    if (tunes_shift(matrix)) shift_adam.step(shift, g.shift, rate, t);
    if (biases) {
      const float* gb = dense.bias_grad().data();
      const std::vector<double> bias_grad(gb, gb + bias.size());
      bias_adam.step(bias, bias_grad, rate, t);
    }
    for (std::size_t b = 0; b < log_step.size(); ++b) {
      const double s = std::exp(log_step[b]);
      matrix.scales[b] = float(1.0 / s);
      if (!matrix.zero_points.empty())
        matrix.offsets[b] = float(-matrix.zero_points[b] / double(matrix.scales[b]));
      else if (tunes_shift(matrix))
        matrix.offsets[b] = float(s * shift[b]);
    }
  }

  std::unique_ptr<Layer> stored() const {
    check_consistent(matrix, "tune_scales: layer " + std::to_string(index));
    Tensor b(Shape{bias.size()});
    std::transform(bias.begin(), bias.end(), b.data(), [](double v) { return float(v); });
    return std::make_unique<QuantizedDense>(matrix, std::move(b), kernel);
  }
};

void softmax_rows(const Tensor& logits, Tensor& p) {
  p.resize(logits.shape());
  for (std::size_t r = 0; r < logits.dim(0); ++r) {
    const auto z = logits.row(r);
    const auto out = p.row(r);
    const float top = *std::max_element(z.begin(), z.end());
    double total = 0.0;
    for (std::size_t c = 0; c < z.size(); ++c) total += out[c] = std::exp(z[c] - top);
    for (float& v : out) v = float(v / total);
  }
}

}  // namespace

GridGradient grid_gradient(const QuantizedMatrix& weight, std::span<const std::int32_t> codes,
                           std::span<const float> weight_grad) {
  if (codes.size() != weight.rows * weight.cols || weight_grad.size() != codes.size())
    throw Error("grid_gradient: expected " + std::to_string(weight.rows * weight.cols) +
                " codes and gradients, found " + std::to_string(codes.size()) + " and " +
                std::to_string(weight_grad.size()));
  GridGradient g{std::vector<double>(weight.block_count(), 0.0),
                 std::vector<double>(weight.block_count(), 0.0)};
  const bool shift = tunes_shift(weight);
  for_each_run(weight, [&](std::size_t b, std::size_t begin, std::size_t end) {
    const double s = step_of(weight, b), k = shift_of(weight, b);
    double through_step = 0.0, through_shift = 0.0;
    for (std::size_t c = begin; c < end; ++c) {
      through_step += double(weight_grad[c]) * (codes[c] + k);
      through_shift += double(weight_grad[c]);
    }
    g.log_step[b] += s * through_step;  // ∂L/∂log s = s · ∂L/∂s
    if (shift) g.shift[b] += s * through_shift;
  });
  return g;
}

void tune_scales(Sequential& quantized, const Sequential& reference, const Tensor& calibration,
                 const ScaleTuningOptions& options) {
  if (options.epochs == 0) return;
  if (calibration.rank() != 2 || calibration.dim(0) == 0)
    throw Error("tune_scales: calibration inputs must be [samples, inputs], found " +
                calibration.shape().to_string());
  if (options.batch == 0 || !(options.learning_rate > 0.0) || !std::isfinite(options.learning_rate))
    throw Error("tune_scales: batch must be positive and the learning rate positive and finite");
  // The student: each QuantizedDense as a float Dense holding ŵ, the rest copied.
  Sequential student;
  std::vector<TunedLayer> tuned;
  for (std::size_t i = 0; i < quantized.size(); ++i) {
    const auto* layer = dynamic_cast<const QuantizedDense*>(&quantized.layer(i));
    if (!layer) {
      student.add(quantized.layer(i).clone());
      continue;
    }
    tuned.emplace_back(i, *layer);
    auto dense = std::make_unique<Dense>(layer->inputs(), layer->outputs());
    tuned.back().write_weights(*dense);
    student.add(std::move(dense));
  }
  if (tuned.empty()) return;

  // The targets: the float model's softmax on every calibration row.
  const std::size_t samples = calibration.dim(0), width = calibration.dim(1);
  Sequential teacher = reference;
  Tensor targets;
  softmax_rows(teacher.forward(calibration), targets);
  if (targets.rank() != 2 || targets.dim(0) != samples)
    throw Error("tune_scales: the reference model's outputs are not one row per input");
  const std::size_t classes = targets.dim(1);

  std::vector<std::size_t> order(samples);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(options.seed);
  Tensor batch_inputs, probabilities, grad;
  std::size_t t = 0;
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    rng.shuffle(std::span(order));
    for (std::size_t first = 0; first < samples; first += options.batch) {
      const std::size_t rows = std::min(options.batch, samples - first);
      batch_inputs.resize(Shape{rows, width});
      for (std::size_t r = 0; r < rows; ++r)
        std::copy_n(calibration.row(order[first + r]).data(), width, batch_inputs.row(r).data());
      const Tensor& logits = student.forward(batch_inputs);
      if (logits.rank() != 2 || logits.dim(1) != classes)
        throw Error("tune_scales: the quantized model's outputs do not match the reference's");
      // d/dz of the cross-entropy against the float model's softmax: (p - p_float) / rows.
      softmax_rows(logits, probabilities);
      grad.resize(Shape{rows, classes});
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < classes; ++c)
          grad.row(r)[c] =
              (probabilities.row(r)[c] - targets.row(order[first + r])[c]) / float(rows);
      student.backward(grad);
      ++t;
      for (TunedLayer& layer : tuned) {
        auto& dense = static_cast<Dense&>(student.layer(layer.index));
        layer.update(dense, options.learning_rate, t, options.biases);
        layer.write_weights(dense);
      }
    }
  }
  for (const TunedLayer& layer : tuned) quantized.replace(layer.index, layer.stored());
}

}  // namespace tinyq
