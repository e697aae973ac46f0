// Sequential: a chain of layers with width checks at every joint.
#include "nn/sequential.hpp"

#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"

namespace tinyq {

namespace {

// The width flowing out of layers [0, end): the last declared output width.
std::optional<std::size_t> width_after(const std::vector<std::unique_ptr<Layer>>& layers,
                                       std::size_t end) {
  for (std::size_t i = end; i > 0; --i)
    if (auto width = layers[i - 1]->output_features()) return width;
  return std::nullopt;
}

// The width layers [begin, size) expect: the first declared input width.
std::optional<std::size_t> width_before(const std::vector<std::unique_ptr<Layer>>& layers,
                                        std::size_t begin) {
  for (std::size_t i = begin; i < layers.size(); ++i)
    if (auto width = layers[i]->input_features()) return width;
  return std::nullopt;
}

void check_fits(const std::optional<std::size_t>& produced, const Layer& layer, std::size_t index) {
  const auto expected = layer.input_features();
  if (produced && expected && *produced != *expected)
    throw Error("layer " + std::to_string(index) + " " + layer.describe() + ": expects " +
                std::to_string(*expected) + " inputs, previous layers produce " +
                std::to_string(*produced));
}

}  // namespace

Sequential::Sequential(const Sequential& other) {
  layers_.reserve(other.layers_.size());
  for (const auto& layer : other.layers_) layers_.push_back(layer->clone());
  collect_parameters();
}

Sequential& Sequential::operator=(const Sequential& other) {
  if (this != &other) *this = Sequential(other);
  return *this;
}

void Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw Error("Sequential::add: null layer");
  check_fits(width_after(layers_, layers_.size()), *layer, layers_.size());
  layers_.push_back(std::move(layer));
  collect_parameters();
  backward_ready_ = false;
}

void Sequential::replace(std::size_t i, std::unique_ptr<Layer> layer) {
  if (!layer) throw Error("Sequential::replace: null layer");
  if (i >= layers_.size())
    throw Error("Sequential::replace: layer " + std::to_string(i) + " out of range, model has " +
                std::to_string(layers_.size()));
  check_fits(width_after(layers_, i), *layer, i);
  // The layers after i must accept what the new layer (or those before it) produce.
  auto produced = layer->output_features();
  if (!produced) produced = width_after(layers_, i);
  const auto expected = width_before(layers_, i + 1);
  if (produced && expected && *produced != *expected)
    throw Error("layer " + std::to_string(i) + " " + layer->describe() + ": produces " +
                std::to_string(*produced) + " outputs, the next layers expect " +
                std::to_string(*expected));
  layers_[i] = std::move(layer);
  collect_parameters();
  backward_ready_ = false;
}

// Only x may change before backward: the activations between layers live in
// the layers, unchanged until the next forward. A layer followed by a ReLU
// may apply it itself (Layer::forward_then_relu): one pass over the outputs
// instead of two, and the ReLU layer is handed them for its backward.
const Tensor& Sequential::forward(const Tensor& x) {
  return forward_layers(x, false);
}

const Tensor& Sequential::forward_kept(const Tensor& x) {
  return forward_layers(x, true);
}

// The later layers' inputs are the earlier layers' outputs, which the model
// owns: only the first layer may point at the caller's x.
const Tensor& Sequential::predict(const Tensor& x) {
  const Tensor& y = forward_layers(x, true);
  layers_.front()->forget_kept_input();
  backward_ready_ = false;
  return y;
}

// The first layer copies x unless x_kept; the others read their input in
// place, from the layer before, which keeps it until the next forward.
const Tensor& Sequential::forward_layers(const Tensor& x, bool x_kept) {
  if (layers_.empty()) throw Error("Sequential::forward: the model has no layers");
  backward_ready_ = false;  // until every layer has run: a throw leaves a mix
  const Tensor* activation = &x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    const bool kept = i > 0 || x_kept;
    auto* relu = i + 1 < layers_.size() ? dynamic_cast<Relu*>(layers_[i + 1].get()) : nullptr;
    const Tensor* fused = nullptr;
    if (relu)
      fused =
          kept ? layer.forward_kept_then_relu(*activation) : layer.forward_then_relu(*activation);
    if (fused) {
      activation = &relu->forward_applied(*fused);
      ++i;
    } else {
      activation = kept ? &layer.forward_kept(*activation) : &layer.forward(*activation);
    }
  }
  backward_ready_ = true;
  return *activation;
}

// A layer after a ReLU may apply the ReLU's backward itself
// (Layer::backward_through_relu), unless the ReLU is the first layer, whose
// input gradient nobody needs. Checked here, not by each layer: the last
// layers' backward would overwrite their gradients before the first found
// it had nothing to go back through.
void Sequential::backward(const Tensor& grad_output) {
  if (!backward_ready_)
    throw Error(
        "Sequential::backward: no forward to go back through (none since the model was built "
        "or changed, the last one threw, or the last pass was predict)");
  const Tensor* grad = &grad_output;
  for (std::size_t i = layers_.size(); i > 0; --i) {
    Layer& layer = *layers_[i - 1];
    const auto* relu = i > 2 ? dynamic_cast<const Relu*>(layers_[i - 2].get()) : nullptr;
    const Tensor* fused = relu ? layer.backward_through_relu(*grad, relu->last_output()) : nullptr;
    if (fused) {
      grad = fused;
      --i;
    } else {
      grad = &layer.backward(*grad, i > 1);
    }
  }
}

void Sequential::collect_parameters() {
  parameters_.clear();
  for (auto& layer : layers_)
    for (auto& p : layer->parameters()) parameters_.push_back(std::move(p));
}

std::size_t Sequential::parameter_count() const {
  std::size_t count = 0;
  for (const auto& p : parameters_) count += p.value->size();
  return count;
}

std::optional<std::size_t> Sequential::input_features() const {
  return width_before(layers_, 0);
}

std::optional<std::size_t> Sequential::output_features() const {
  return width_after(layers_, layers_.size());
}

std::string Sequential::describe() const {
  std::string text;
  for (const auto& layer : layers_) {
    if (!text.empty()) text += " -> ";
    text += layer->describe();
  }
  return text.empty() ? "(empty)" : text;
}

Sequential make_mlp(std::size_t inputs, const std::vector<std::size_t>& hidden, std::size_t outputs,
                    std::uint64_t seed) {
  Rng rng(seed);
  Sequential model;
  std::size_t width = inputs;
  for (std::size_t h : hidden) {
    model.add(std::make_unique<Dense>(width, h, rng));
    model.add(std::make_unique<Relu>());
    width = h;
  }
  model.add(std::make_unique<Dense>(width, outputs, rng));
  return model;
}

}  // namespace tinyq
