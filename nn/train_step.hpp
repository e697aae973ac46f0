// One training step and a batched evaluation: the two things a training
// loop does with a model. The loop itself (epochs, shuffling, schedules,
// reporting) belongs to the app; nn only sees tensors and label spans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
#include "nn/softmax_cross_entropy.hpp"

namespace tinyq {

// forward → loss → backward → SGD update on one batch. images: [B, features],
// labels: B class indices. Returns the batch's mean loss (before the update);
// when `correct` is given, stores how many rows the model (before the update)
// classified right.
float train_step(Sequential& model, SoftmaxCrossEntropy& loss, Sgd& optimizer, const Tensor& images,
                 std::span<const std::uint8_t> labels, float learning_rate,
                 std::size_t* correct = nullptr);

// The first parameter value of model that is NaN or infinite, described in
// one line ("layer 2 Dense(256 -> 128): weight[17, 5] is NaN"), or nullopt
// when every value is finite. Training checks this as well as the loss: a NaN
// weight need not make the loss NaN (a ReLU may hide the unit it feeds), and
// SGD never repairs it, so it would be saved. One pass over the values, about
// as cheap as reading them once.
std::optional<std::string> find_non_finite_parameter(Sequential& model);

struct Evaluation {
  std::size_t count = 0;    // examples seen
  std::size_t correct = 0;  // argmax == label
  double mean_loss = 0.0;
  double accuracy() const { return count ? static_cast<double>(correct) / count : 0.0; }
};

// Runs the examples through predict in batches of batch_size (the last may
// be smaller) and scores them. Nothing is trained.
Evaluation evaluate(Sequential& model, const Tensor& images, std::span<const std::uint8_t> labels,
                    std::size_t batch_size);

// The same for examples kept in another form (images stored as bytes and
// converted batch by batch): fill(start, rows, batch) puts examples
// [start, start + rows) into batch as floats [rows, features]. Scores
// exactly as the overload above does on the converted examples.
using FillBatch = std::function<void(std::size_t start, std::size_t rows, Tensor& batch)>;
Evaluation evaluate(Sequential& model, std::span<const std::uint8_t> labels, std::size_t batch_size,
                    const FillBatch& fill);

}  // namespace tinyq
