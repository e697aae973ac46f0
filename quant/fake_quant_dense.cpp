// FakeQuantDense: fake-quantize W, then the three products of a Dense.
#include "quant/fake_quant_dense.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "quant/quantize.hpp"

namespace tinyq {

namespace {

// A learned step never reaches 0 (SGD could push it there): the grid would
// become degenerate and every weight of the block would collapse to its offset.
constexpr double min_step = 1e-8;

}  // namespace

FakeQuantDense::FakeQuantDense(const Dense& dense, const QuantFormat& format,
                               GridChooser choose_grid, bool learn_scale)
    : choose_grid_(std::move(choose_grid)),
      learn_scale_(learn_scale),
      weight_(dense.weight()),
      weight_grad_(dense.weight().shape()),
      inner_(dense.inputs(), dense.outputs()) {
  validate(format);
  layout_.format = format;
  if (format.granularity != Granularity::group) layout_.format.group_size = 0;
  layout_.rows = dense.outputs();
  layout_.cols = dense.inputs();
  inner_.bias() = dense.bias();
  if (learn_scale_) {
    // The chosen grids become the initial steps and offsets.
    FakeQuantized initial;
    std::vector<float> w_q(weight_.size());
    const GridChooser& choose = choose_grid_;
    const Scheme scheme = format.scheme;
    const int bits = format.bits;
    fake_quantize(
        weight_.values(), layout_,
        [&](std::span<const float> block, std::size_t) { return choose(block, {}, scheme, bits); },
        initial, w_q);
    const std::size_t blocks = layout_.block_count();
    step_ = Tensor({blocks});
    step_grad_ = Tensor({blocks});
    for (std::size_t b = 0; b < blocks; ++b) {
      const BlockGrid& grid = initial.grids[b];
      step_[b] = static_cast<float>(std::max(grid.range / grid.levels, min_step));
    }
    if (format.scheme == Scheme::asymmetric) {
      offset_ = Tensor({blocks});
      offset_grad_ = Tensor({blocks});
      for (std::size_t b = 0; b < blocks; ++b)
        offset_[b] = static_cast<float>(initial.grids[b].offset);
    }
  }
}

std::string FakeQuantDense::describe() const {
  return "FakeQuantDense(" + std::to_string(inputs()) + " -> " + std::to_string(outputs()) + ", " +
         to_string(layout_.format) + (learn_scale_ ? ", learned scale)" : ")");
}

// The grid of each block: chosen from the block's weights, or (LSQ) made
// from the learned step s and offset o: range = s · levels.
BlockGridFunction FakeQuantDense::grid_function() const {
  const Scheme scheme = layout_.format.scheme;
  const int bits = layout_.format.bits;
  if (!learn_scale_)
    return [this, scheme, bits](std::span<const float> block, std::size_t) {
      return choose_grid_(block, {}, scheme, bits);
    };
  return [this, scheme, bits](std::span<const float>, std::size_t b) {
    BlockGrid grid;
    grid.levels = highest_code(scheme, bits);
    grid.range = std::max(static_cast<double>(step_[b]), min_step) * grid.levels;
    grid.offset = offset_.size() != 0 ? offset_[b] : 0.0;
    return grid;
  };
}

void FakeQuantDense::quantize_weights(std::span<const float> w, FakeQuantized& out,
                                      std::span<float> w_q) const {
  fake_quantize(w, layout_, grid_function(), out, w_q);
}

const Tensor& FakeQuantDense::forward(const Tensor& x) {
  quantize_weights(weight_.values(), fake_, inner_.weight().values());
  return inner_.forward(x);
}

const Tensor& FakeQuantDense::forward_kept(const Tensor& x) {
  quantize_weights(weight_.values(), fake_, inner_.weight().values());
  return inner_.forward_kept(x);
}

// Dense's backward gives dL/dW_q, dL/db and dL/dx (with W_q, the weights the
// forward used); the STE carries dL/dW_q to the latent W.
const Tensor& FakeQuantDense::backward(const Tensor& grad_output, bool need_input_grad) {
  const Tensor& input_grad = inner_.backward(grad_output, need_input_grad);
  const std::span<const float> grad_wq = inner_.weight_grad().values();
  if (learn_scale_)
    learned_scale_gradients(weight_.values(), grad_wq, layout_, fake_, weight_grad_.values(),
                            step_grad_.values(), offset_grad_.values());
  else
    straight_through(grad_wq, fake_, weight_grad_.values());
  return input_grad;
}

std::vector<Parameter> FakeQuantDense::parameters() {
  std::vector<Parameter> params = {{"weight", &weight_, &weight_grad_}, inner_.parameters()[1]};
  if (learn_scale_) {
    params.push_back({"weight.step", &step_, &step_grad_});
    if (offset_.size() != 0) params.push_back({"weight.offset", &offset_, &offset_grad_});
  }
  return params;
}

std::unique_ptr<Layer> FakeQuantDense::clone() const {
  return std::make_unique<FakeQuantDense>(*this);
}

StateDict FakeQuantDense::state() const {
  StateDict state;
  state.add("weight", StateTensor::of_floats({outputs(), inputs()}, weight_.values()));
  state.add("bias", StateTensor::of_floats({outputs()}, bias().values()));
  if (learn_scale_) {
    state.add("weight.step", StateTensor::of_floats({step_.size()}, step_.values()));
    if (offset_.size() != 0)
      state.add("weight.offset", StateTensor::of_floats({offset_.size()}, offset_.values()));
  }
  state.attributes = {{"weight.format", format_tag(layout_.format)}};
  return state;
}

StateDict FakeQuantDense::float_state() const {
  FakeQuantized fake;
  Tensor w_q(weight_.shape());
  quantize_weights(weight_.values(), fake, w_q.values());
  StateDict state;
  state.add("weight", StateTensor::of_floats({outputs(), inputs()}, w_q.values()));
  state.add("bias", StateTensor::of_floats({outputs()}, bias().values()));
  return state;
}

std::vector<double> FakeQuantDense::grid_positions() const {
  FakeQuantized fake;
  Tensor w_q(weight_.shape());
  quantize_weights(weight_.values(), fake, w_q.values());
  std::vector<double> positions(weight_.size());
  const std::size_t step = layout_.block_columns();
  for (std::size_t r = 0; r < outputs(); ++r)
    for (std::size_t c = 0; c < inputs(); ++c) {
      const BlockGrid& grid = fake.grids[layout_.block_index(r, c / step)];
      const double w = weight_[r * inputs() + c];
      positions[r * inputs() + c] =
          grid.usable() ? (w - grid.offset) * grid.levels / grid.range : 0.0;
    }
  return positions;
}

// quantize() with a rounder that returns the fake quantizer's own codes and
// grids, so the stored layer holds exactly W_q.
std::unique_ptr<QuantizedDense> FakeQuantDense::to_quantized(QuantizedKernel kernel) const {
  const Rounder same_codes = [this](std::span<const float> w, const QuantizedMatrix&,
                                    const GridChooser&, std::span<const float>) {
    FakeQuantized fake;
    std::vector<float> w_q(w.size());
    quantize_weights(w, fake, w_q);
    return RoundedMatrix{std::vector<std::int32_t>(fake.codes.begin(), fake.codes.end()),
                         std::move(fake.grids)};
  };
  return std::make_unique<QuantizedDense>(
      quantize(weight_.values(), outputs(), inputs(), layout_.format, describe() + " weight",
               ignoring_importance(minmax_grid), same_codes),
      bias(), kernel);
}

}  // namespace tinyq
