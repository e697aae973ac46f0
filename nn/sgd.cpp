// The SGD update, one fused loop per parameter.
#include "nn/sgd.hpp"

#include <algorithm>
#include <string>

#include "core/cloned_loops.hpp"
#include "core/error.hpp"
#include "core/flush_denormals.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Below this many floats, waking a second thread costs more than it saves.
constexpr std::size_t parallel_threshold = 1 << 15;

// Elements [begin, end) of one tensor, as Sgd::step's comment writes them.
// These loops are most of a step's time outside the matrix products, so
// they are compiled for AVX-512, AVX2 and baseline and picked at load time,
// every clone rounding as the baseline does (core/cloned_loops.hpp; with
// contraction on, two tests fail). Training, batch 64, 2 threads, Zen 5,
// alternated in one process: 0.91-0.95 of the time at the default MLP, 0.94
// at 1024,1024.
TINYQ_EXACT_CLONES_BEGIN
TINYQ_CLONED void update_with_momentum(float* w, const float* grad, float* v, std::size_t begin,
                                       std::size_t end, float learning_rate, float mu,
                                       float lambda) {
  TINYQ_NO_CONTRACT
  for (std::size_t j = begin; j < end; ++j) {
    v[j] = mu * v[j] + (grad[j] + lambda * w[j]);
    w[j] -= learning_rate * v[j];
  }
}

TINYQ_CLONED void update_plain(float* w, const float* grad, std::size_t begin, std::size_t end,
                               float learning_rate, float lambda) {
  TINYQ_NO_CONTRACT
  for (std::size_t j = begin; j < end; ++j) w[j] -= learning_rate * (grad[j] + lambda * w[j]);
}
TINYQ_EXACT_CLONES_END

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
// With μ = 0 this is plain SGD, and no velocity is stored. On x86 a
// result below the normal range (|x| < 2^-126) is stored as 0.
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
    if (use_momentum)
      update_with_momentum(w, grad, velocity_[i].data(), begin, end, learning_rate, mu, lambda);
    else
      update_plain(w, grad, begin, end, learning_rate, lambda);
  };
  // The loop streams w, ∇ and v once (a few MB for an MNIST MLP), so it is
  // bound by how fast the caches deliver them; big models are split across
  // threads, with one wait per step. Share t of T is [t·n/T, (t+1)·n/T) of
  // every tensor, so the halves of each weight matrix are its halves of
  // rows, the same halves the next forward product reads and the
  // weight-gradient product writes (gemm splits both by the rows of W, and
  // the thread pool gives chunk t to thread t). One flat range over all
  // parameters, as before, cut the first weight matrix elsewhere, so each
  // core could fetch rows the other had just written (the two vCPUs here
  // are a cache-line round trip of about 470 ns apart). Default MLP and
  // 1024,1024, batch 64, 2 threads, Zen 5, alternated rounds of 100 steps in
  // one process: 0.88 of the training time in the first runs (40 and 10
  // rounds), 0.99-1.00 in two later ones (30 rounds each), when the host ran
  // every pass that touches the other thread's data slower (see README, "How
  // close training runs to the machine's peak"). Splitting the
  // weight-gradient products by rows too added nothing until chunk t of
  // each loop stayed on thread t (core/thread_pool.cpp). Each element is
  // updated by one thread, so the result does not depend on the thread
  // count.
  //
  // Subnormal results are written as zero (core/flush_denormals.hpp): on an
  // Intel Xeon (AVX-512, 2 threads) train_mnist on Fashion-MNIST ran its
  // late epochs at 146k samples/s with them and 195k without, and wrote the
  // same model file, byte for byte: a velocity that small moves no weight.
  const auto update_share = [&](std::size_t share, std::size_t shares) {
    const FlushDenormals flush;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::size_t n = params[i].value->size();
      update(i, n * share / shares, n * (share + 1) / shares);
    }
  };
  if (total >= parallel_threshold) {
    const std::size_t shares = num_threads();
    parallel_for(shares, 1, [&](std::size_t begin, std::size_t end) {
      for (std::size_t share = begin; share < end; ++share) update_share(share, shares);
    });
  } else {
    update_share(0, 1);
  }
}

}  // namespace tinyq
