// The layer interface every building block of a model implements.
//
// A layer maps a batch of row vectors x [batch, in] to y [batch, out]. For
// training it also maps the upstream gradient dL/dy back to dL/dx and
// leaves dL/dθ for its own parameters in their gradient tensors.
//
// Outputs are returned by const reference to a Tensor the layer owns and
// reuses from batch to batch (valid until the next call): after the first
// batch a training step allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "nn/state_dict.hpp"

namespace tinyq {

// A trainable tensor and the gradient the last backward left for it.
// Non-owning: both live inside the layer.
struct Parameter {
  std::string name;  // "weight", "bias"
  Tensor* value;
  Tensor* grad;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // The kind name under which the registry builds this layer and files
  // store it: "dense", "relu", "quantized_dense", ... (nn/layer_registry.hpp).
  virtual std::string kind() const = 0;
  // For printing a model: "Dense(784 -> 256)".
  virtual std::string describe() const = 0;

  // Feature counts this layer requires / produces; nullopt when any width
  // works (ReLU). Sequential uses them to check that layers fit together.
  virtual std::optional<std::size_t> input_features() const { return std::nullopt; }
  virtual std::optional<std::size_t> output_features() const { return std::nullopt; }

  // x: [batch, input_features]. Remembers what backward needs.
  virtual const Tensor& forward(const Tensor& x) = 0;
  // The same, for an x the caller keeps alive and unchanged until the
  // backward that follows (a training step's batch, or the previous layer's
  // output): the layer may then remember x itself instead of a copy.
  virtual const Tensor& forward_kept(const Tensor& x) { return forward(x); }
  // forward followed by a ReLU, y = (v > 0 ? v : 0) for each output v, in
  // the pass that writes the outputs, or nullptr where the layer does not
  // offer it. Sequential then skips the ReLU layer's own forward and hands
  // it these outputs instead (Relu::forward_applied), which its backward
  // reads as the mask: one pass over the outputs instead of two (three
  // with Dense's bias), and one wait for the threads instead of two.
  virtual const Tensor* forward_then_relu(const Tensor& x) {
    (void)x;
    return nullptr;
  }
  // The same for an x kept alive until backward (see forward_kept).
  virtual const Tensor* forward_kept_then_relu(const Tensor& x) { return forward_then_relu(x); }
  // Forgets an x that forward_kept remembered in place, which its caller is
  // about to free (Sequential::predict): a backward then throws, as before
  // any forward, instead of reading freed memory.
  virtual void forget_kept_input() {}

  // grad_output: dL/dy for the last forward. Sets each parameter's grad and
  // returns dL/dx. The first layer of a model passes need_input_grad = false:
  // nobody reads dL/dx there, so its matrix product is skipped (the returned
  // tensor is then empty).
  virtual const Tensor& backward(const Tensor& grad_output, bool need_input_grad) = 0;

  // backward for a layer whose input x came out of a ReLU: relu_output is
  // that ReLU's last output (this layer's x). Returns dL/dx with the ReLU's
  // backward applied, zero where relu_output is not > 0: the gradient at the
  // ReLU's input, in the pass that writes dL/dx (Sequential then skips the
  // ReLU's backward). nullptr where the layer does not offer it.
  virtual const Tensor* backward_through_relu(const Tensor& grad_output,
                                              const Tensor& relu_output) {
    (void)grad_output;
    (void)relu_output;
    return nullptr;
  }

  virtual std::vector<Parameter> parameters() { return {}; }

  // A deep copy (Sequential is a value type through this).
  virtual std::unique_ptr<Layer> clone() const = 0;

  // Everything needed to rebuild the layer, as named tensors and attributes
  // (nn/state_dict.hpp): what every model file stores.
  virtual StateDict state() const = 0;

  // The layer's parameters as the float tensors a float layer of the same
  // function would hold, under the same names. A float layer returns its
  // state; a quantized one the weights its codes stand for. Reports compare
  // a quantized model with its float original through this.
  virtual StateDict float_state() const { return state(); }
};

}  // namespace tinyq
