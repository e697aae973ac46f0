// Softmax cross-entropy: value, gradient, numerical stability, accuracy helper.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/softmax_cross_entropy.hpp"

using namespace tinyq;

TEST_CASE("loss of all-zero logits is log(classes)") {
  SoftmaxCrossEntropy loss;
  const std::vector<std::uint8_t> labels = {0, 6, 3};
  const float value = loss.forward(Tensor({3, 7}), labels);
  CHECK(value == doctest::Approx(std::log(7.0)).epsilon(1e-6));
}

TEST_CASE("loss matches the definition on a small example") {
  SoftmaxCrossEntropy loss;
  const Tensor logits({2, 3}, std::vector<float>{1, 2, 3, 0.5f, -1, 0});
  const std::vector<std::uint8_t> labels = {2, 0};
  double expected = 0.0;
  expected += -std::log(std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  expected += -std::log(std::exp(0.5) / (std::exp(0.5) + std::exp(-1.0) + std::exp(0.0)));
  CHECK(loss.forward(logits, labels) == doctest::Approx(expected / 2).epsilon(1e-6));
}

TEST_CASE("loss stays finite and exact for huge logits") {
  SoftmaxCrossEntropy loss;
  const Tensor logits({2, 3}, std::vector<float>{1e4f, 0, -1e4f, 1e4f, 0, -1e4f});
  // Row 0 predicts its label with certainty (loss 0); row 1's label is 1e4 below the max.
  const std::vector<std::uint8_t> labels = {0, 1};
  const float value = loss.forward(logits, labels);
  CHECK(std::isfinite(value));
  CHECK(value == doctest::Approx(1e4 / 2).epsilon(1e-6));
  for (float g : loss.backward().values()) CHECK(std::isfinite(g));
  CHECK(loss.probabilities()(0, 0) == 1.0f);
}

TEST_CASE("loss stays exact for rows whose logits are all hugely negative") {
  // Shifting by the row's maximum (here -1e4), not by 0, keeps exp() from
  // underflowing every term to 0.
  SoftmaxCrossEntropy loss;
  const Tensor logits({1, 3}, std::vector<float>{-1e4f, -1e4f - 1.0f, -2e4f});
  const std::vector<std::uint8_t> labels = {1};
  const double expected = 1.0 + std::log(1.0 + std::exp(-1.0));  // -log p[1]
  CHECK(loss.forward(logits, labels) == doctest::Approx(expected).epsilon(1e-6));
  CHECK(loss.probabilities()(0, 0) == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))));
}

TEST_CASE("loss gradient is (softmax - onehot) / batch and matches finite differences") {
  Rng rng(11);
  const std::size_t batch = 3, classes = 5;
  Tensor logits({batch, classes});
  for (float& v : logits.values()) v = rng.uniform(-3, 3);
  const std::vector<std::uint8_t> labels = {4, 0, 2};

  SoftmaxCrossEntropy loss;
  loss.forward(logits, labels);
  const Tensor grad = loss.backward();
  // Each row of (p - onehot) sums to zero.
  for (std::size_t r = 0; r < batch; ++r) {
    double row_sum = 0.0;
    for (float g : grad.row(r)) row_sum += g;
    CHECK(std::abs(row_sum) < 1e-6);
  }
  const float h = 1e-2f;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const float saved = logits[i];
    logits[i] = saved + h;
    const double plus = loss.forward(logits, labels);
    logits[i] = saved - h;
    const double minus = loss.forward(logits, labels);
    logits[i] = saved;
    const double numeric = (plus - minus) / (2.0 * h);
    INFO("dz[" << i << "]: analytic " << grad[i] << ", numeric " << numeric);
    CHECK(std::abs(grad[i] - numeric) <= 2e-4 + 1e-3 * std::abs(numeric));
  }
}

TEST_CASE("loss rejects a label out of range and mismatched sizes") {
  SoftmaxCrossEntropy loss;
  const std::vector<std::uint8_t> bad = {0, 3};
  CHECK_THROWS_WITH_AS(loss.forward(Tensor({2, 3}), bad), doctest::Contains("label 3"), Error);
  const std::vector<std::uint8_t> three = {0, 1, 2};
  CHECK_THROWS_AS(loss.forward(Tensor({2, 3}), three), Error);
}

TEST_CASE("backward before any forward is an error") {
  SoftmaxCrossEntropy loss;
  CHECK_THROWS_AS(loss.backward(), Error);
}

TEST_CASE("count_correct counts rows whose argmax is the label") {
  const Tensor logits({3, 3}, std::vector<float>{0, 5, 1, 2, 1, 0, 0, 0, -1});
  const std::vector<std::uint8_t> labels = {1, 2, 0};  // right, wrong, tie -> first index
  CHECK(count_correct(logits, labels) == 2);
  CHECK(argmax(std::vector<float>{1, 3, 3}) == 1);
}
