// Softmax followed by cross-entropy, fused into one loss.
//
// For logits z [B, C] and labels y (class indices):
//
//   p[r, c] = exp(z[r, c]) / Σ_k exp(z[r, k])
//   L       = -(1/B) Σ_r log p[r, y_r]
//
// Fusing the two is both cheaper and more accurate: the gradient collapses to
// (p - onehot(y)) / B, and log p is computed as z - logsumexp(z) without ever
// taking the log of a tiny probability.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"

namespace tinyq {

class SoftmaxCrossEntropy {
 public:
  // Returns the mean loss over the batch and keeps p for backward. Throws
  // tinyq::Error when the shapes disagree or a label is not below C.
  float forward(const Tensor& logits, std::span<const std::uint8_t> labels);
  // dL/dlogits [B, C] for the last forward.
  const Tensor& backward();

  const Tensor& probabilities() const { return probabilities_; }

 private:
  Tensor probabilities_;
  Tensor grad_;
  std::vector<std::uint8_t> labels_;  // a copy: the caller's span may not outlive backward
};

// Index of the largest value (the first one on ties).
std::size_t argmax(std::span<const float> row);
// Number of rows whose argmax equals the label.
std::size_t count_correct(const Tensor& logits, std::span<const std::uint8_t> labels);

}  // namespace tinyq
