// End to end in miniature: train_step and evaluate on small synthetic data.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/model_file.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
#include "nn/softmax_cross_entropy.hpp"
#include "nn/train_step.hpp"

using namespace tinyq;

namespace {

struct Examples {
  Tensor points;
  std::vector<std::uint8_t> labels;
};

// 2-D points labelled by the side of the line x + 2y = 0.3 they fall on,
// with a margin of 0.1 kept empty so the classes are cleanly separable.
Examples separable_points(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  Examples ex{Tensor({count, 2}), {}};
  for (std::size_t i = 0; i < count;) {
    const float x = rng.uniform(-1, 1), y = rng.uniform(-1, 1);
    const float side = x + 2 * y - 0.3f;
    if (side > -0.1f && side < 0.1f) continue;
    ex.points(i, 0) = x;
    ex.points(i, 1) = y;
    ex.labels.push_back(side > 0 ? 1 : 0);
    ++i;
  }
  return ex;
}

// Shuffled mini-batches, the way train_mnist does it.
Sequential train(const Examples& ex, std::uint64_t seed, std::size_t epochs) {
  Sequential model = make_mlp(2, {8}, 2, seed);
  SoftmaxCrossEntropy loss;
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f});
  Rng rng(seed + 1);
  const std::size_t count = ex.labels.size(), batch_size = 16;
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  Tensor batch;
  std::vector<std::uint8_t> labels;
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    rng.shuffle(std::span(order));
    for (std::size_t start = 0; start < count; start += batch_size) {
      const std::size_t rows = std::min(batch_size, count - start);
      batch.resize({rows, 2});
      labels.resize(rows);
      for (std::size_t r = 0; r < rows; ++r) {
        batch(r, 0) = ex.points(order[start + r], 0);
        batch(r, 1) = ex.points(order[start + r], 1);
        labels[r] = ex.labels[order[start + r]];
      }
      train_step(model, loss, sgd, batch, labels, 0.1f);
    }
  }
  return model;
}

}  // namespace

TEST_CASE("a small MLP reaches 100% training accuracy on separable 2-D data") {
  const Examples ex = separable_points(200, 3);
  Sequential model = make_mlp(2, {8}, 2, 5);
  const Evaluation before = evaluate(model, ex.points, ex.labels, 32);
  model = train(ex, 5, 60);
  const Evaluation after = evaluate(model, ex.points, ex.labels, 32);
  CHECK(after.count == 200);
  CHECK(after.accuracy() == 1.0);
  CHECK(after.mean_loss < before.mean_loss / 4);
}

TEST_CASE("train_step returns the batch loss and the number correct, then lowers the loss") {
  const Examples ex = separable_points(32, 9);
  Sequential model = make_mlp(2, {4}, 2, 1);
  SoftmaxCrossEntropy loss;
  Sgd sgd({.learning_rate = 0.05f, .momentum = 0.0f, .weight_decay = 0.0f});
  const double expected_loss = evaluate(model, ex.points, ex.labels, 32).mean_loss;
  const std::size_t expected_correct = evaluate(model, ex.points, ex.labels, 32).correct;
  std::size_t correct = 999;
  const float first = train_step(model, loss, sgd, ex.points, ex.labels, 0.05f, &correct);
  CHECK(first == doctest::Approx(expected_loss).epsilon(1e-5));
  CHECK(correct == expected_correct);
  float last = first;
  for (int i = 0; i < 20; ++i) last = train_step(model, loss, sgd, ex.points, ex.labels, 0.05f);
  CHECK(last < first);
}

TEST_CASE("evaluate gives the same result whatever the batch size") {
  const Examples ex = separable_points(23, 4);
  Sequential model = make_mlp(2, {6}, 2, 2);
  const Evaluation whole = evaluate(model, ex.points, ex.labels, 23);
  const Evaluation pieces = evaluate(model, ex.points, ex.labels, 5);    // 5,5,5,5,3
  const Evaluation beyond = evaluate(model, ex.points, ex.labels, 100);  // one batch of 23
  CHECK(pieces.count == whole.count);
  CHECK(pieces.correct == whole.correct);
  CHECK(pieces.mean_loss == doctest::Approx(whole.mean_loss).epsilon(1e-6));
  CHECK(beyond.count == whole.count);
  CHECK(beyond.correct == whole.correct);
  CHECK(beyond.mean_loss == whole.mean_loss);
}

TEST_CASE("evaluate and train_step check their inputs") {
  Sequential model = make_mlp(2, {3}, 2, 2);
  const std::vector<std::uint8_t> labels = {0, 1};
  CHECK_THROWS_AS(evaluate(model, Tensor({3, 2}), labels, 4), Error);
  CHECK_THROWS_AS(evaluate(model, Tensor({2, 2}), labels, 0), Error);
  SoftmaxCrossEntropy loss;
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.0f, .weight_decay = 0.0f});
  CHECK_THROWS_AS(train_step(model, loss, sgd, Tensor({2, 3}), labels, 0.1f), Error);
}

TEST_CASE("two runs with the same seed produce byte-identical models") {
  const Examples ex = separable_points(64, 7);
  const std::vector<std::uint8_t> a = serialize_model(train(ex, 11, 5));
  const std::vector<std::uint8_t> b = serialize_model(train(ex, 11, 5));
  const std::vector<std::uint8_t> c = serialize_model(train(ex, 12, 5));
  CHECK(a == b);
  CHECK(a != c);
}
