#include "apps/model_evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "nn/train_step.hpp"
#include "quant/quantize.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

ModelScore score_model(Sequential& model, const Tensor& images,
                       std::span<const std::uint8_t> labels, std::size_t repeats) {
  const auto inputs = model.input_features();
  if (!inputs)
    throw Error("model has no layer of fixed width (no Dense layer): " + model.describe() +
                " cannot classify images");
  if (inputs && *inputs != images.dim(1))
    throw Error("model expects " + std::to_string(*inputs) + " inputs, but the images have " +
                std::to_string(images.dim(1)) + " pixels");
  ModelScore score;
  score.bytes = serialize_model(model).size();
  double best_seconds = std::numeric_limits<double>::infinity();
  for (std::size_t r = 0; r < std::max<std::size_t>(1, repeats); ++r) {
    const auto start = std::chrono::steady_clock::now();
    const Evaluation evaluation = evaluate(model, images, labels, images.dim(0));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best_seconds = std::min(best_seconds, seconds);
    score.accuracy = evaluation.accuracy();
  }
  score.samples_per_second = double(images.dim(0)) / best_seconds;
  return score;
}

WeightError weight_error(const Sequential& original, const Sequential& quantized) {
  if (original.size() != quantized.size())
    throw Error("weight_error: models have " + std::to_string(original.size()) + " and " +
                std::to_string(quantized.size()) + " layers");
  double squared_error = 0.0, squared_signal = 0.0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < original.size(); ++i) {
    const auto* dense = dynamic_cast<const Dense*>(&original.layer(i));
    const auto* q = dynamic_cast<const QuantizedDense*>(&quantized.layer(i));
    if (!dense || !q) continue;
    const Tensor approx = dequantize(q->weight());
    const auto w = dense->weight().values();
    for (std::size_t j = 0; j < w.size(); ++j) {
      const double e = double(w[j]) - double(approx[j]);
      squared_error += e * e;
      squared_signal += double(w[j]) * double(w[j]);
    }
    count += w.size();
  }
  WeightError result;
  result.rmse = count ? std::sqrt(squared_error / double(count)) : 0.0;
  result.sqnr_db = squared_error > 0 ? 10.0 * std::log10(squared_signal / squared_error)
                                     : std::numeric_limits<double>::infinity();
  return result;
}

bool is_quantized(const Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (dynamic_cast<const QuantizedDense*>(&model.layer(i))) return true;
  return false;
}

}  // namespace tinyq
