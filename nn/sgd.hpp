// Stochastic gradient descent with momentum and weight decay, as PyTorch's
// torch.optim.SGD (dampening 0, not Nesterov) defines it, so results can be
// compared number for number.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "nn/layer.hpp"

namespace tinyq {

struct SgdOptions {
  float learning_rate = 0.1f;
  float momentum = 0.0f;      // μ in [0, 1)
  float weight_decay = 0.0f;  // λ >= 0, an L2 penalty ½λ‖w‖² folded into the gradient
};

class Sgd {
 public:
  // Throws tinyq::Error for a negative rate or decay, or momentum outside [0, 1).
  explicit Sgd(SgdOptions options);

  // One update of every parameter from its gradient, at `learning_rate`
  // (a schedule's value; options().learning_rate is the base rate).
  // The parameter list must be the same, in the same order, at every step:
  // the velocity buffers are created at the first step and matched by position.
  void step(std::span<const Parameter> params, float learning_rate);
  void step(std::span<const Parameter> params) { step(params, options_.learning_rate); }

  const SgdOptions& options() const { return options_; }

 private:
  SgdOptions options_;
  std::vector<Tensor> velocity_;
};

}  // namespace tinyq
