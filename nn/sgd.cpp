// The SGD update, one fused loop per parameter.
#include "nn/sgd.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Below this many floats, waking a second thread costs more than it saves.
constexpr std::size_t parallel_threshold = 1 << 15;

}  // namespace

Sgd::Sgd(SgdOptions options) : options_(options) {
  if (!(options.learning_rate >= 0.0f))
    throw Error("SGD: learning rate must be >= 0, found " + std::to_string(options.learning_rate));
  if (!(options.momentum >= 0.0f && options.momentum < 1.0f))
    throw Error("SGD: momentum must be in [0, 1), found " + std::to_string(options.momentum));
  if (!(options.weight_decay >= 0.0f))
    throw Error("SGD: weight decay must be >= 0, found " + std::to_string(options.weight_decay));
}

// For each parameter w with gradient ∇ (learning rate η, momentum μ, decay λ):
//
//   g  = ∇ + λ·w          the gradient of L + ½λ‖w‖²
//   v  = μ·v + g          v starts at 0, so the first step has v = g
//   w -= η·v
//
// With μ = 0 this is plain SGD, and no velocity is stored.
void Sgd::step(std::span<const Parameter> params, float learning_rate) {
  const float mu = options_.momentum, lambda = options_.weight_decay;
  const bool use_momentum = mu != 0.0f;
  if (use_momentum && velocity_.empty()) {
    velocity_.reserve(params.size());
    for (const Parameter& p : params) velocity_.emplace_back(p.value->shape());  // zeros
  }
  if (use_momentum && velocity_.size() != params.size())
    throw Error("SGD: " + std::to_string(params.size()) + " parameters, expected " +
                std::to_string(velocity_.size()) + " as at the first step");

  std::size_t total = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    if (!(p.grad->shape() == p.value->shape()) ||
        (use_momentum && !(velocity_[i].shape() == p.value->shape())))
      throw Error("SGD: parameter " + std::to_string(i) + " (" + p.name + ") has shape " +
                  p.value->shape().to_string() + " but gradient " + p.grad->shape().to_string() +
                  (use_momentum ? " and velocity " + velocity_[i].shape().to_string() : ""));
    total += p.value->size();
  }

  // Elements [begin, end) of one parameter.
  const auto update = [&](std::size_t i, std::size_t begin, std::size_t end) {
    float* w = params[i].value->data();
    const float* grad = params[i].grad->data();
    if (use_momentum) {
      float* v = velocity_[i].data();
      for (std::size_t j = begin; j < end; ++j) {
        v[j] = mu * v[j] + (grad[j] + lambda * w[j]);
        w[j] -= learning_rate * v[j];
      }
    } else {
      for (std::size_t j = begin; j < end; ++j) w[j] -= learning_rate * (grad[j] + lambda * w[j]);
    }
  };
  // The loop streams w, ∇ and v through memory once (a few MB for an MNIST
  // MLP), so it is bandwidth-bound; big models are split across threads.
  // All parameters form one index range, split once: one wait for the
  // threads per step instead of one per big tensor. Each element is updated
  // by one thread, so the result does not depend on the thread count.
  const auto update_range = [&](std::size_t begin, std::size_t end) {
    std::size_t offset = 0;
    for (std::size_t i = 0; i < params.size() && offset < end; ++i) {
      const std::size_t n = params[i].value->size();
      const std::size_t lo = std::max(begin, offset), hi = std::min(end, offset + n);
      if (lo < hi) update(i, lo - offset, hi - offset);
      offset += n;
    }
  };
  if (total >= parallel_threshold)
    parallel_for(total, 1024, update_range);
  else
    update_range(0, total);
}

}  // namespace tinyq
