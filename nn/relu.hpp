// ReLU: y = max(x, 0), elementwise.
#pragma once

#include <memory>
#include <string>

#include "core/io/binary_io.hpp"
#include "core/tensor.hpp"
#include "nn/layer.hpp"

namespace tinyq {

class Relu : public Layer {
 public:
  std::string kind() const override { return "relu"; }
  std::string describe() const override { return "ReLU"; }

  const Tensor& forward(const Tensor& x) override;
  // For a ReLU the layer before has already applied (Layer::forward_then_relu):
  // y is its output, kept alive and unchanged until backward, which reads
  // it as the mask. Returns y.
  const Tensor& forward_applied(const Tensor& y);
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad) override;
  // The last forward's output, the mask of backward. Throws before any forward.
  const Tensor& last_output() const;
  std::unique_ptr<Layer> clone() const override;
  // Empty: ReLU has no parameters.
  StateDict state() const override { return {}; }
  static std::unique_ptr<Layer> from_state(const StateDict& state, const std::string& where);
  // The version 1 .tqm payload is empty.
  static StateDict state_from_v1_payload(BinaryReader& in);

 private:
  Tensor output_, input_grad_;
  // The last forward's output: output_, or the layer before's (forward_applied).
  const Tensor* last_output_ = nullptr;
};

}  // namespace tinyq
