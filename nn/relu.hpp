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
  void save(BinaryWriter& out) const override;
  // The payload is empty; kept for symmetry with the other loaders.
  static std::unique_ptr<Layer> load(BinaryReader& in);

 private:
  Tensor output_, input_grad_;
};

}  // namespace tinyq
