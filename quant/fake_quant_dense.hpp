// FakeQuantDense: a Dense layer trained through the quantizer (QAT).
//
// It keeps float ("latent") weights W and trains them, but every forward
// multiplies by W_q, the weights rounded to the grid QuantizedDense will
// hold (quant/fake_quant.hpp): y = x · W_qᵀ + b. Backward passes dL/dW_q
// straight through the rounding to W (zero where a weight is clipped), so
// SGD moves the latent weights across rounding thresholds over many steps.
// With learn_scale, each block's step (and asymmetric offset) is a trained
// parameter too (LSQ); without, the grid is chosen afresh from W at every
// forward by the grid method (min-max, mse, ...).
//
// to_quantized() gives the QuantizedDense with the codes and scales of the
// current W_q; forward of the two agrees to float rounding.
//
// A training-time layer: its state() (kind "fake_quant_dense") is not one
// model files load; export the model (quant/qat.hpp) to save it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "nn/dense.hpp"
#include "nn/layer.hpp"
#include "quant/fake_quant.hpp"
#include "quant/grid.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

class FakeQuantDense : public Layer {
 public:
  // Starts from dense's weights and bias. choose_grid picks the grids (with
  // learn_scale: only the initial steps and offsets). Throws tinyq::Error
  // for an invalid format.
  FakeQuantDense(const Dense& dense, const QuantFormat& format,
                 GridChooser choose_grid = ignoring_importance(minmax_grid),
                 bool learn_scale = false);

  std::string kind() const override { return "fake_quant_dense"; }
  // "FakeQuantDense(784 -> 256, symmetric/channel/2-bit, learned scale)"
  std::string describe() const override;
  std::optional<std::size_t> input_features() const override { return inputs(); }
  std::optional<std::size_t> output_features() const override { return outputs(); }

  const Tensor& forward(const Tensor& x) override;
  // The inner Dense points at x instead of copying it (Layer::forward_kept).
  const Tensor& forward_kept(const Tensor& x) override;
  void forget_kept_input() override { inner_.forget_kept_input(); }
  const Tensor& backward(const Tensor& grad_output, bool need_input_grad) override;
  // weight (latent), bias, and with learned scales weight.step [blocks] and,
  // asymmetric, weight.offset [blocks].
  std::vector<Parameter> parameters() override;
  std::unique_ptr<Layer> clone() const override;
  // The latent weights, bias, learned steps/offsets and "weight.format".
  StateDict state() const override;
  // "weight" as W_q (what a float Dense of the same function holds), "bias".
  StateDict float_state() const override;

  // The QuantizedDense holding the codes and scales of the current W_q.
  std::unique_ptr<QuantizedDense> to_quantized(
      QuantizedKernel kernel = QuantizedKernel::weight_only) const;

  std::size_t inputs() const { return layout_.cols; }
  std::size_t outputs() const { return layout_.rows; }
  const QuantFormat& format() const { return layout_.format; }
  bool learns_scale() const { return learn_scale_; }
  const Tensor& weight() const { return weight_; }  // latent [out, in]
  Tensor& weight() { return weight_; }
  const Tensor& weight_grad() const { return weight_grad_; }
  const Tensor& bias() const { return inner_.bias(); }
  Tensor& bias() { return inner_.bias(); }
  const Tensor& bias_grad() const { return inner_.bias_grad(); }
  // Learned steps (range / levels) and offsets per block; empty without LSQ.
  Tensor& steps() { return step_; }
  const Tensor& step_grad() const { return step_grad_; }
  Tensor& offsets() { return offset_; }
  const Tensor& offset_grad() const { return offset_grad_; }
  // Each latent weight's place on its block's grid, in steps: v = (w -
  // offset) · levels / range, whose rounding is the weight's code (for plots
  // of how the weights sit on the grid).
  std::vector<double> grid_positions() const;
  // W_q as the last forward computed it.
  const Tensor& quantized_weight() const { return inner_.weight(); }

 private:
  BlockGridFunction grid_function() const;
  void quantize_weights(std::span<const float> w, FakeQuantized& out, std::span<float> w_q) const;

  QuantizedMatrix layout_;  // rows, cols and format; no codes
  GridChooser choose_grid_;
  bool learn_scale_ = false;
  Tensor weight_, weight_grad_;
  Tensor step_, step_grad_, offset_, offset_grad_;  // LSQ only
  // Holds W_q and the bias, and does the three matrix products.
  Dense inner_;
  FakeQuantized fake_;  // the last forward's codes, grids and STE mask
};

}  // namespace tinyq
