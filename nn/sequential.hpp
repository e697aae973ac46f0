// Sequential: layers applied one after another, y = f_n(...f_2(f_1(x))).
//
// A value type: copying a Sequential deep-copies its layers (Layer::clone).
// Adding a layer checks that its input width fits the previous output width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "nn/layer.hpp"

namespace tinyq {

class Sequential {
 public:
  Sequential() = default;
  Sequential(const Sequential& other);
  Sequential& operator=(const Sequential& other);
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  // Throws tinyq::Error when the layer's input width does not match.
  void add(std::unique_ptr<Layer> layer);

  const Tensor& forward(const Tensor& x);
  // The same for an x kept alive and unchanged until the backward that
  // follows (see Layer::forward_kept): nothing is copied.
  const Tensor& forward_kept(const Tensor& x);
  // Inference: forward's outputs, bit for bit, without keeping x for a
  // backward (PyTorch's torch.no_grad()). forward copies x so that backward
  // can find it later, a copy of the whole input: on Fashion-MNIST's 10,000
  // test images (31 MB) the float MLP's pass took 1.12-1.17 times as long
  // with it. A backward after predict throws.
  const Tensor& predict(const Tensor& x);
  // Runs every layer's backward in reverse; the first skips dL/dx. Throws
  // tinyq::Error, before any layer has run, unless the last pass was a
  // forward or forward_kept that completed: every gradient is then still
  // that of the last backward.
  void backward(const Tensor& grad_output);

  // Every layer's parameters, in order. Collected when layers are added or
  // replaced and kept, so a training step asks for them without allocating.
  const std::vector<Parameter>& parameters() { return parameters_; }
  std::size_t parameter_count() const;  // number of trainable floats

  std::size_t size() const { return layers_.size(); }
  Layer& layer(std::size_t i) { return *layers_.at(i); }
  const Layer& layer(std::size_t i) const { return *layers_.at(i); }
  // Swaps layer i for another (used by quantize_model); checks widths.
  void replace(std::size_t i, std::unique_ptr<Layer> layer);

  // Input width of the first layer that declares one (nullopt if none do).
  std::optional<std::size_t> input_features() const;
  std::optional<std::size_t> output_features() const;
  std::string describe() const;  // "Dense(784 -> 256) -> ReLU -> ..."

 private:
  void collect_parameters();
  const Tensor& forward_layers(const Tensor& x, bool x_kept);

  std::vector<std::unique_ptr<Layer>> layers_;
  // Points into the layers, which live on the heap: moving a Sequential keeps
  // these valid; copying re-collects them from the new layers.
  std::vector<Parameter> parameters_;
  // Whether every layer holds the activations of one completed forward or
  // forward_kept (not predict, and no layer added or replaced since).
  bool backward_ready_ = false;
};

// The MLP train_mnist builds: Dense(in -> h1), ReLU, ..., Dense(h_last -> out).
// Weights He-uniform from `seed`, biases zero.
Sequential make_mlp(std::size_t inputs, const std::vector<std::size_t>& hidden, std::size_t outputs,
                    std::uint64_t seed);

}  // namespace tinyq
