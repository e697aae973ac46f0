// Dense layer: forward and backward as three matrix products and two loops.
//
// Shapes: x [B, in], W [out, in], b [out], y [B, out], G = dL/dy [B, out].
#include "nn/dense.hpp"

#include <cmath>
#include <cstdint>

#include "core/error.hpp"
#include "core/kernels/gemm.hpp"

namespace tinyq {

namespace {

void check_sizes(std::size_t inputs, std::size_t outputs) {
  if (inputs == 0 || outputs == 0)
    throw Error("Dense(" + std::to_string(inputs) + " -> " + std::to_string(outputs) +
                "): widths must be at least 1");
}

}  // namespace

Dense::Dense(std::size_t inputs, std::size_t outputs) : inputs_(inputs), outputs_(outputs) {
  check_sizes(inputs, outputs);
  weight_ = Tensor({outputs, inputs});
  bias_ = Tensor({outputs});
  weight_grad_ = Tensor({outputs, inputs});
  bias_grad_ = Tensor({outputs});
}

// He initialisation keeps the variance of activations roughly constant
// through ReLU layers: Var(w) = 2/in, and U(-a, a) has variance a²/3, so
// a = sqrt(6/in).
Dense::Dense(std::size_t inputs, std::size_t outputs, Rng& rng) : Dense(inputs, outputs) {
  const float bound = std::sqrt(6.0f / static_cast<float>(inputs));
  for (float& w : weight_.values()) w = rng.uniform(-bound, bound);
}

std::string Dense::describe() const {
  return "Dense(" + std::to_string(inputs_) + " -> " + std::to_string(outputs_) + ")";
}

// y[r, j] = Σ_i x[r, i] · W[j, i] + b[j]      i.e. Y = X · Wᵀ + b (b added to every row)
const Tensor& Dense::forward(const Tensor& x) {
  compute_output(x, false);
  input_copy_ = x;
  input_ = &input_copy_;
  return output_;
}

const Tensor& Dense::forward_kept(const Tensor& x) {
  return compute_output(x, false);
}

const Tensor* Dense::forward_then_relu(const Tensor& x) {
  compute_output(x, true);
  input_copy_ = x;
  input_ = &input_copy_;
  return &output_;
}

const Tensor* Dense::forward_kept_then_relu(const Tensor& x) {
  return &compute_output(x, true);
}

// The bias (and the ReLU) are added by the product's epilogue to each block
// of Y as soon as its sums are final, while it is in the cache of the core
// that computed it: no second pass over Y, and with the ReLU no third (and
// no second wait for the threads). Each element gets y + b[j] and then
// Relu::forward's (y > 0 ? y : 0), the operations of the separate passes,
// so the same bits. Training the default MLP at batch 64, 2 threads:
// see README ("How close training runs to the machine's peak").
const Tensor& Dense::compute_output(const Tensor& x, bool relu) {
  if (x.rank() != 2 || x.dim(1) != inputs_)
    throw Error(describe() + ": expected input [batch, " + std::to_string(inputs_) + "], found " +
                x.shape().to_string());
  input_ = &x;
  output_.resize({x.dim(0), outputs_});
  const float* b = bias_.data();
  float* y = output_.data();
  const std::size_t ldy = outputs_;
  const auto epilogue = [&](std::size_t row, std::size_t rows, std::size_t col, std::size_t cols) {
    for (std::size_t r = row; r < row + rows; ++r) {
      float* y_row = y + r * ldy;
      if (relu) {
        for (std::size_t j = col; j < col + cols; ++j) {
          const float v = y_row[j] + b[j];
          y_row[j] = v > 0.0f ? v : 0.0f;
        }
      } else {
        for (std::size_t j = col; j < col + cols; ++j) y_row[j] += b[j];
      }
    }
  };
  matmul_transposed_b(x, weight_, output_, epilogue);
  return output_;
}

// Each gradient is the chain rule applied to y[r, j] = Σ_i x[r, i] W[j, i] + b[j]:
//
//   dL/dW[j, i] = Σ_r G[r, j] · ∂y[r, j]/∂W[j, i] = Σ_r G[r, j] · x[r, i]
//               → dW = Gᵀ · X          [out, B] · [B, in] = [out, in]
//   dL/db[j]    = Σ_r G[r, j]          (b[j] enters every row with weight 1)
//               → db = column sums of G
//   dL/dx[r, i] = Σ_j G[r, j] · W[j, i]
//               → dX = G · W           [B, out] · [out, in] = [B, in]
//
// The sum over r is where the batch's gradients accumulate: the loss is
// already a batch mean, so G carries the 1/B.
const Tensor& Dense::backward(const Tensor& grad_output, bool need_input_grad) {
  return backward(grad_output, need_input_grad, nullptr);
}

// The ReLU before this layer maps its input u to x = (u > 0 ? u : 0), so
// dL/du = dL/dx where x > 0 and 0 elsewhere (Relu::backward): applied here
// to each block of dX by the epilogue of the product that computes it.
const Tensor* Dense::backward_through_relu(const Tensor& grad_output, const Tensor& relu_output) {
  if (!input_ || !(relu_output.shape() == input_->shape()))
    throw Error(describe() + ": the ReLU output " + relu_output.shape().to_string() +
                " is not this layer's last input " +
                (input_ ? input_->shape().to_string() : std::string("(none)")));
  return &backward(grad_output, true, &relu_output);
}

const Tensor& Dense::backward(const Tensor& grad_output, bool need_input_grad,
                              const Tensor* relu_output) {
  if (!input_)
    throw Error(describe() + ": backward without the input of a forward (none yet, or predict)");
  const std::size_t batch = input_->dim(0);
  if (grad_output.rank() != 2 || grad_output.dim(0) != batch || grad_output.dim(1) != outputs_)
    throw Error(describe() + ": expected output gradient [" + std::to_string(batch) + ", " +
                std::to_string(outputs_) + "], found " + grad_output.shape().to_string());

  matmul_transposed_a(grad_output, *input_, weight_grad_);

  // Row by row, so the inner loop runs along contiguous memory and vectorizes.
  float* db = bias_grad_.data();
  for (std::size_t j = 0; j < outputs_; ++j) db[j] = 0.0f;
  for (std::size_t r = 0; r < batch; ++r) {
    const float* g = grad_output.data() + r * outputs_;
    for (std::size_t j = 0; j < outputs_; ++j) db[j] += g[j];
  }

  if (need_input_grad && relu_output) {
    input_grad_.resize({batch, inputs_});
    float* dx = input_grad_.data();
    const float* mask = relu_output->data();
    const auto apply_mask = [&](std::size_t row, std::size_t rows, std::size_t col,
                                std::size_t cols) {
      for (std::size_t r = row; r < row + rows; ++r)
        for (std::size_t i = r * inputs_ + col; i < r * inputs_ + col + cols; ++i) {
          const float gi = dx[i];
          dx[i] = mask[i] > 0.0f ? gi : 0.0f;
        }
    };
    matmul(grad_output, weight_, input_grad_, apply_mask);
  } else if (need_input_grad) {
    matmul(grad_output, weight_, input_grad_);
  } else {
    input_grad_ = Tensor();
  }
  return input_grad_;
}

std::vector<Parameter> Dense::parameters() {
  return {{"weight", &weight_, &weight_grad_}, {"bias", &bias_, &bias_grad_}};
}

std::unique_ptr<Layer> Dense::clone() const {
  // Parameters only: the copy starts without activations or gradients.
  auto copy = std::make_unique<Dense>(inputs_, outputs_);
  copy->weight_ = weight_;
  copy->bias_ = bias_;
  return copy;
}

StateDict Dense::state() const {
  StateDict state;
  state.add("weight", StateTensor::of_floats({outputs_, inputs_}, weight_.values()));
  state.add("bias", StateTensor::of_floats({outputs_}, bias_.values()));
  return state;
}

std::unique_ptr<Layer> Dense::from_state(const StateDict& state, const std::string& where) {
  StateReader reader(state, where);
  const StateTensor& weight = reader.tensor_of_rank("weight", Dtype::f32, 2);
  const std::size_t outputs = weight.shape[0], inputs = weight.shape[1];
  auto layer = std::make_unique<Dense>(inputs, outputs);
  layer->weight_ = Tensor({outputs, inputs}, weight.floats());
  layer->bias_ = reader.floats("bias", {outputs});
  reader.finish();
  return layer;
}

StateDict Dense::state_from_v1_payload(BinaryReader& in) {
  const std::uint64_t inputs = in.u32();
  const std::uint64_t outputs = in.u32();
  if (inputs == 0 || outputs == 0)
    in.fail("dense layer with " + std::to_string(inputs) + " inputs and " +
            std::to_string(outputs) + " outputs");
  // out·(in+1) floats; < 2^64, and compared before anything is allocated.
  const std::uint64_t floats = outputs * (inputs + 1);
  if (floats > in.remaining() / 4)
    in.fail("dense " + std::to_string(inputs) + " -> " + std::to_string(outputs) + " needs " +
            std::to_string(floats) + " floats, only " + std::to_string(in.remaining()) +
            " bytes remain");
  std::vector<float> weight(outputs * inputs), bias(outputs);
  in.f32_array(weight);
  in.f32_array(bias);
  StateDict state;
  state.add("weight", StateTensor::of_floats({outputs, inputs}, weight));
  state.add("bias", StateTensor::of_floats({outputs}, bias));
  return state;
}

}  // namespace tinyq
