// Fused softmax + cross-entropy: forward, backward and the accuracy helpers.
#include "nn/softmax_cross_entropy.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tinyq {

namespace {

void check_batch(const Tensor& logits, std::span<const std::uint8_t> labels, const char* where) {
  if (logits.rank() != 2 || logits.dim(0) != labels.size() || logits.dim(1) == 0)
    throw Error(std::string(where) + ": expected logits [" + std::to_string(labels.size()) +
                ", classes] for " + std::to_string(labels.size()) + " labels, found " +
                logits.shape().to_string());
}

}  // namespace

// Stability: softmax is unchanged by subtracting any constant m from a row,
// so with m = max_k z[k] every exponent is <= 0 and exp cannot overflow; the
// largest term is exp(0) = 1, so the sum is >= 1 and its log is safe.
//
//   log p[y] = (z[y] - m) - log Σ_k exp(z[k] - m)
//
// Sums run in double: with many classes a float sum loses the small terms
// that decide the loss when the model is confident.
float SoftmaxCrossEntropy::forward(const Tensor& logits, std::span<const std::uint8_t> labels) {
  check_batch(logits, labels, "softmax cross-entropy");
  if (labels.empty()) throw Error("softmax cross-entropy: empty batch");
  const std::size_t batch = logits.dim(0), classes = logits.dim(1);
  for (std::size_t r = 0; r < batch; ++r)
    if (labels[r] >= classes)
      throw Error("softmax cross-entropy: label " + std::to_string(labels[r]) + " in row " +
                  std::to_string(r) + " is out of range for " + std::to_string(classes) +
                  " classes");

  probabilities_.resize(logits.shape());
  labels_.assign(labels.begin(), labels.end());
  double total = 0.0;
  for (std::size_t r = 0; r < batch; ++r) {
    const std::span<const float> z = logits.row(r);
    const std::span<float> p = probabilities_.row(r);
    float max = z[0];
    for (float v : z) max = v > max ? v : max;
    double sum = 0.0;
    for (std::size_t c = 0; c < classes; ++c) {
      p[c] = std::exp(z[c] - max);
      sum += p[c];
    }
    const float inverse = static_cast<float>(1.0 / sum);
    for (float& v : p) v *= inverse;
    total += std::log(sum) - static_cast<double>(z[labels[r]] - max);
  }
  return static_cast<float>(total / static_cast<double>(batch));
}

// ∂L/∂z[r, c] = (p[r, c] - [c == y_r]) / B
// (from ∂log p[y]/∂z[c] = [c == y] - p[c], then the 1/B of the mean and a sign).
const Tensor& SoftmaxCrossEntropy::backward() {
  if (probabilities_.empty()) throw Error("softmax cross-entropy: backward called before forward");
  const std::size_t batch = probabilities_.dim(0);
  const float scale = 1.0f / static_cast<float>(batch);
  grad_.resize(probabilities_.shape());
  const float* p = probabilities_.data();
  float* g = grad_.data();
  for (std::size_t i = 0; i < probabilities_.size(); ++i) g[i] = p[i] * scale;
  for (std::size_t r = 0; r < batch; ++r) grad_(r, labels_[r]) -= scale;
  return grad_;
}

std::size_t argmax(std::span<const float> row) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < row.size(); ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

std::size_t count_correct(const Tensor& logits, std::span<const std::uint8_t> labels) {
  check_batch(logits, labels, "count_correct");
  std::size_t correct = 0;
  for (std::size_t r = 0; r < labels.size(); ++r)
    if (argmax(logits.row(r)) == labels[r]) ++correct;
  return correct;
}

}  // namespace tinyq
