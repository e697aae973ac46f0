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
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad) override;
  std::unique_ptr<Layer> clone() const override;
  // Empty: ReLU has no parameters.
  StateDict state() const override { return {}; }
  static std::unique_ptr<Layer> from_state(const StateDict& state, const std::string& where);
  // The version 1 .tqm payload is empty.
  static StateDict state_from_v1_payload(BinaryReader& in);

 private:
  Tensor output_, input_grad_;
};

}  // namespace tinyq
