// A training step and batched evaluation over a Sequential model.
#include "nn/train_step.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace tinyq {

namespace {

void check_examples(const Tensor& images, std::span<const std::uint8_t> labels, const char* where) {
  if (images.rank() != 2 || images.dim(0) != labels.size())
    throw Error(std::string(where) + ": expected images [" + std::to_string(labels.size()) +
                ", features] for " + std::to_string(labels.size()) + " labels, found " +
                images.shape().to_string());
}

}  // namespace

float train_step(Sequential& model, SoftmaxCrossEntropy& loss, Sgd& optimizer, const Tensor& images,
                 std::span<const std::uint8_t> labels, float learning_rate, std::size_t* correct) {
  check_examples(images, labels, "train_step");
  const Tensor& logits = model.forward(images);
  const float batch_loss = loss.forward(logits, labels);
  if (correct) *correct = count_correct(logits, labels);
  model.backward(loss.backward());
  optimizer.step(model.parameters(), learning_rate);
  return batch_loss;
}

Evaluation evaluate(Sequential& model, const Tensor& images, std::span<const std::uint8_t> labels,
                    std::size_t batch_size) {
  check_examples(images, labels, "evaluate");
  if (batch_size == 0) throw Error("evaluate: batch size must be at least 1, found 0");
  const std::size_t total = labels.size(), features = images.dim(1);
  SoftmaxCrossEntropy loss;
  Evaluation result;
  double loss_sum = 0.0;
  Tensor batch;
  for (std::size_t start = 0; start < total; start += batch_size) {
    const std::size_t rows = std::min(batch_size, total - start);
    batch.resize({rows, features});
    std::copy_n(images.data() + start * features, rows * features, batch.data());
    const auto batch_labels = labels.subspan(start, rows);
    const Tensor& logits = model.forward(batch);
    loss_sum += double{loss.forward(logits, batch_labels)} * static_cast<double>(rows);
    result.correct += count_correct(logits, batch_labels);
    result.count += rows;
  }
  result.mean_loss = total ? loss_sum / static_cast<double>(total) : 0.0;
  return result;
}

}  // namespace tinyq
