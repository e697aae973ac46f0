// A training step and batched evaluation over a Sequential model.
#include "nn/train_step.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/function_ref.hpp"

namespace tinyq {

namespace {

void check_examples(const Tensor& images, std::span<const std::uint8_t> labels, const char* where) {
  if (images.rank() != 2 || images.dim(0) != labels.size())
    throw Error(std::string(where) + ": expected images [" + std::to_string(labels.size()) +
                ", features] for " + std::to_string(labels.size()) + " labels, found " +
                images.shape().to_string());
}

// Index of the first NaN or infinity in values, or values.size(). A float is
// finite iff its exponent bits are not all ones, i.e. iff its magnitude bits
// |x| read as an integer are below 0x7f800000 (the bits of +inf). The maximum
// of those integers over a block is a reduction compilers vectorize (an
// isfinite test per value is not), so the common all-finite case runs at
// memory speed; only a block that holds a bad value is searched value by value.
std::size_t first_non_finite(std::span<const float> values) {
  constexpr std::uint32_t magnitude_mask = 0x7fffffffu, infinity_bits = 0x7f800000u;
  constexpr std::size_t block = 4096;
  for (std::size_t start = 0; start < values.size(); start += block) {
    const std::size_t end = std::min(values.size(), start + block);
    std::uint32_t largest = 0;
    for (std::size_t i = start; i < end; ++i)
      largest = std::max(largest, std::bit_cast<std::uint32_t>(values[i]) & magnitude_mask);
    if (largest < infinity_bits) continue;
    for (std::size_t i = start; i < end; ++i)
      if (!std::isfinite(values[i])) return i;
  }
  return values.size();
}

// "[17, 5]" for flat index 17 * cols + 5 of a [rows, cols] tensor.
std::string index_in(const Shape& shape, std::size_t flat) {
  std::string text;
  for (std::size_t axis = shape.rank(); axis-- > 0;) {
    const std::size_t extent = shape[axis];
    text = std::to_string(flat % extent) + (text.empty() ? "" : ", ") + text;
    flat /= extent;
  }
  return "[" + text + "]";
}

}  // namespace

std::optional<std::string> find_non_finite_parameter(Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    for (const Parameter& parameter : model.layer(i).parameters()) {
      const std::span<const float> values = parameter.value->values();
      const std::size_t bad = first_non_finite(values);
      if (bad == values.size()) continue;
      return "layer " + std::to_string(i) + " " + model.layer(i).describe() + ": " +
             parameter.name + index_in(parameter.value->shape(), bad) + " is " +
             (std::isnan(values[bad]) ? "NaN"
              : values[bad] > 0       ? "+infinity"
                                      : "-infinity");
    }
  }
  return std::nullopt;
}

float train_step(Sequential& model, SoftmaxCrossEntropy& loss, Sgd& optimizer, const Tensor& images,
                 std::span<const std::uint8_t> labels, float learning_rate, std::size_t* correct) {
  check_examples(images, labels, "train_step");
  const Tensor& logits = model.forward_kept(images);  // images outlive the step
  const float batch_loss = loss.forward(logits, labels);
  if (correct) *correct = count_correct(logits, labels);
  model.backward(loss.backward());
  optimizer.step(model.parameters(), learning_rate);
  return batch_loss;
}

namespace {

// The scoring loop of both overloads below: batch(start, rows) gives
// examples [start, start + rows) as floats [rows, features].
Evaluation score_batches(Sequential& model, std::span<const std::uint8_t> labels,
                         std::size_t batch_size,
                         FunctionRef<const Tensor&(std::size_t start, std::size_t rows)> batch) {
  if (batch_size == 0) throw Error("evaluate: batch size must be at least 1, found 0");
  const std::size_t total = labels.size();
  SoftmaxCrossEntropy loss;
  Evaluation result;
  double loss_sum = 0.0;
  for (std::size_t start = 0; start < total; start += batch_size) {
    const std::size_t rows = std::min(batch_size, total - start);
    const Tensor& examples = batch(start, rows);
    const auto batch_labels = labels.subspan(start, rows);
    check_examples(examples, batch_labels, "evaluate");
    const Tensor& logits = model.predict(examples);
    loss_sum += double{loss.forward(logits, batch_labels)} * static_cast<double>(rows);
    result.correct += count_correct(logits, batch_labels);
    result.count += rows;
  }
  result.mean_loss = total ? loss_sum / static_cast<double>(total) : 0.0;
  return result;
}

}  // namespace

Evaluation evaluate(Sequential& model, const Tensor& images, std::span<const std::uint8_t> labels,
                    std::size_t batch_size) {
  check_examples(images, labels, "evaluate");
  const std::size_t features = images.dim(1);
  Tensor copy;
  return score_batches(
      model, labels, batch_size, [&](std::size_t start, std::size_t rows) -> const Tensor& {
        // All the examples in one batch are the images themselves. A copy
        // (31 MB for Fashion-MNIST's test set) was a fresh buffer per call,
        // and touching its pages for the first time took longer than the
        // pass: quantize_eval timed 2-bit weight-only at 87,000 samples/s
        // beside 650,000 for its other rows.
        if (start == 0 && rows == images.dim(0)) return images;
        copy.resize({rows, features});
        std::copy_n(images.data() + start * features, rows * features, copy.data());
        return copy;
      });
}

Evaluation evaluate(Sequential& model, std::span<const std::uint8_t> labels, std::size_t batch_size,
                    const FillBatch& fill) {
  Tensor batch;
  return score_batches(model, labels, batch_size,
                       [&](std::size_t start, std::size_t rows) -> const Tensor& {
                         fill(start, rows, batch);
                         return batch;
                       });
}

}  // namespace tinyq
