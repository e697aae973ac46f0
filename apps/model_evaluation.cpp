#include "apps/model_evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "nn/model_file.hpp"
#include "nn/train_step.hpp"

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

}  // namespace tinyq
