// ReLU forward and backward.
#include "nn/relu.hpp"

#include "core/error.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Below this many elements one thread is faster than waking another. Above
// it the pass is split: at inference (thousands of rows) it is bound by
// memory bandwidth, which two cores share better than one uses, and in
// training (batch 64 × 256 = 16 Ki elements) the other thread would only spin
// while this one works. Measured: training at batch 64 1.02x faster with 8 Ki
// than with 64 Ki (alternating rounds, busy 2-core machine). Each element is
// computed on its own, so the split cannot change any result.
constexpr std::size_t parallel_threshold = std::size_t{1} << 13;

template <class Body>
void for_each_chunk(std::size_t n, Body&& body) {
  if (n >= parallel_threshold)
    parallel_for(n, 1024, body);
  else
    body(0, n);
}

}  // namespace

const Tensor& Relu::forward(const Tensor& x) {
  output_.resize(x.shape());
  const float* in = x.data();
  float* out = output_.data();
  for_each_chunk(x.size(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
  });
  last_output_ = &output_;
  return output_;
}

const Tensor& Relu::forward_applied(const Tensor& y) {
  last_output_ = &y;
  return y;
}

// dy/dx is 1 where x > 0 and 0 elsewhere (we take 0 at x = 0, as PyTorch
// does). y > 0 exactly where x > 0, so the output doubles as the mask and the
// input need not be kept.
const Tensor& Relu::last_output() const {
  if (!last_output_) throw Error("ReLU: backward called before forward");
  return *last_output_;
}

const Tensor& Relu::backward(const Tensor& grad_output, bool need_input_grad) {
  const Tensor& output = last_output();
  if (!(grad_output.shape() == output.shape()))
    throw Error("ReLU: expected output gradient " + output.shape().to_string() + ", found " +
                grad_output.shape().to_string());
  if (!need_input_grad) {
    input_grad_ = Tensor();
    return input_grad_;
  }
  input_grad_.resize(grad_output.shape());
  const float* y = output.data();
  const float* g = grad_output.data();
  float* dx = input_grad_.data();
  // g[i] is loaded unconditionally so the select compiles to a vector blend
  // rather than a branch per element.
  for_each_chunk(output.size(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const float gi = g[i];
      dx[i] = y[i] > 0.0f ? gi : 0.0f;
    }
  });
  return input_grad_;
}

std::unique_ptr<Layer> Relu::clone() const {
  return std::make_unique<Relu>();
}

std::unique_ptr<Layer> Relu::from_state(const StateDict& state, const std::string& where) {
  StateReader(state, where).finish();  // refuses any tensor or attribute
  return std::make_unique<Relu>();
}

StateDict Relu::state_from_v1_payload(BinaryReader&) {
  return {};
}

}  // namespace tinyq
