// Dense (fully connected) layer: y = x · Wᵀ + b.
//
// W is stored [out, in], one row per output neuron, the layout PyTorch's
// nn.Linear uses; it makes every product below a plain row-major gemm.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/binary_io.hpp"
#include "core/random.hpp"
#include "core/tensor.hpp"
#include "nn/layer.hpp"
#include "nn/state_dict.hpp"

namespace tinyq {

class Dense : public Layer {
 public:
  // All parameters zero.
  Dense(std::size_t inputs, std::size_t outputs);
  // He-uniform weights U(-sqrt(6/in), sqrt(6/in)), zero bias.
  Dense(std::size_t inputs, std::size_t outputs, Rng& rng);

  std::string kind() const override { return "dense"; }
  std::string describe() const override;
  std::optional<std::size_t> input_features() const override { return inputs_; }
  std::optional<std::size_t> output_features() const override { return outputs_; }

  const Tensor& forward(const Tensor& x) override;
  const Tensor& forward_kept(const Tensor& x) override;
  // y = max(x · Wᵀ + b, 0) with the bias and the ReLU applied by the
  // product's epilogue, block by block (core/kernels/gemm.hpp).
  const Tensor* forward_then_relu(const Tensor& x) override;
  const Tensor* forward_kept_then_relu(const Tensor& x) override;
  void forget_kept_input() override { input_ = nullptr; }
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad) override;
  // dX with the ReLU's mask applied by the product's epilogue.
  const Tensor* backward_through_relu(const Tensor& grad_output,
                                      const Tensor& relu_output) override;
  std::vector<Parameter> parameters() override;
  std::unique_ptr<Layer> clone() const override;
  // {"weight": F32 [out, in], "bias": F32 [out]}, PyTorch's nn.Linear names.
  StateDict state() const override;
  static std::unique_ptr<Layer> from_state(const StateDict& state, const std::string& where);
  // Version 1 .tqm payload: u32 in, u32 out, f32 weights [out, in], f32 bias [out].
  static StateDict state_from_v1_payload(BinaryReader& in);

  std::size_t inputs() const { return inputs_; }
  std::size_t outputs() const { return outputs_; }
  Tensor& weight() { return weight_; }  // [out, in]
  const Tensor& weight() const { return weight_; }
  Tensor& bias() { return bias_; }  // [out]
  const Tensor& bias() const { return bias_; }
  const Tensor& weight_grad() const { return weight_grad_; }
  const Tensor& bias_grad() const { return bias_grad_; }

 private:
  std::size_t inputs_;
  std::size_t outputs_;
  Tensor weight_, bias_;
  Tensor weight_grad_, bias_grad_;
  // y = x · Wᵀ + b, then the ReLU if asked, into output_; x is remembered for backward.
  const Tensor& compute_output(const Tensor& x, bool relu);
  // backward; dX zeroed where *relu_output is not > 0, when given.
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad,
                         const Tensor* relu_output);
  // The last forward's x, needed for dW: forward copies it (the copy reuses
  // its allocation), forward_kept only points at the caller's. The copies
  // were 2-3% of a training step, run on one thread while the other waited.
  const Tensor* input_ = nullptr;
  Tensor input_copy_;
  // Owned buffers, resized (not reallocated) every batch.
  Tensor output_, input_grad_;
};

}  // namespace tinyq
