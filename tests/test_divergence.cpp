// nn/train_step: find_non_finite_parameter, the check that stops training
// when a weight or bias stops being a number, even while the loss looks fine.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
#include "nn/softmax_cross_entropy.hpp"
#include "nn/train_step.hpp"

using namespace tinyq;

namespace {

constexpr float quiet_nan = std::numeric_limits<float>::quiet_NaN();
constexpr float infinity = std::numeric_limits<float>::infinity();

// Dense(100 -> 64), ReLU, Dense(64 -> 10): the first weight (6,400 values)
// spans more than one of the check's 4,096-value blocks.
Sequential small_mlp() {
  return make_mlp(100, {64}, 10, 7);
}

// Parameter `which` of the model (0: first weight, 1: first bias, 2: second
// weight, 3: second bias).
Tensor& parameter(Sequential& model, std::size_t which) {
  return *model.parameters().at(which).value;
}

}  // namespace

TEST_CASE("a model whose parameters are all finite passes") {
  Sequential model = small_mlp();
  CHECK_FALSE(find_non_finite_parameter(model).has_value());
  // Extreme but finite values are numbers too.
  parameter(model, 0)[0] = std::numeric_limits<float>::max();
  parameter(model, 1)[0] = -std::numeric_limits<float>::max();
  parameter(model, 3)[0] = std::numeric_limits<float>::denorm_min();
  CHECK_FALSE(find_non_finite_parameter(model).has_value());
}

TEST_CASE("a NaN weight is named by layer, parameter and row-column index") {
  Sequential model = small_mlp();
  parameter(model, 2)(7, 33) = quiet_nan;  // second Dense, weight [10, 64]
  const auto found = find_non_finite_parameter(model);
  REQUIRE(found.has_value());
  CHECK(*found == "layer 2 Dense(64 -> 10): weight[7, 33] is NaN");
}

TEST_CASE("infinite biases are named with their sign") {
  Sequential model = small_mlp();
  parameter(model, 1)[5] = infinity;
  CHECK(find_non_finite_parameter(model) == "layer 0 Dense(100 -> 64): bias[5] is +infinity");
  parameter(model, 1)[5] = 0.0f;
  parameter(model, 3)[9] = -infinity;
  CHECK(find_non_finite_parameter(model) == "layer 2 Dense(64 -> 10): bias[9] is -infinity");
}

TEST_CASE("the first non-finite value is found in any block, including the last value") {
  Sequential model = small_mlp();
  Tensor& weight = parameter(model, 0);  // [64, 100]
  weight[weight.size() - 1] = quiet_nan;
  CHECK(find_non_finite_parameter(model) == "layer 0 Dense(100 -> 64): weight[63, 99] is NaN");
  weight[5000] = -infinity;  // second block
  CHECK(find_non_finite_parameter(model) == "layer 0 Dense(100 -> 64): weight[50, 0] is -infinity");
  weight[4095] = quiet_nan;  // last value of the first block
  CHECK(find_non_finite_parameter(model) == "layer 0 Dense(100 -> 64): weight[40, 95] is NaN");
  // NaNs with any payload and sign bit count, not just the quiet NaN.
  weight[0] = -std::numeric_limits<float>::signaling_NaN();
  CHECK(find_non_finite_parameter(model) == "layer 0 Dense(100 -> 64): weight[0, 0] is NaN");
}

TEST_CASE(
    "a NaN weight behind a ReLU survives training with a finite loss, and the check finds it") {
  // Why the loss check alone is not enough: the NaN makes its hidden unit NaN,
  // the ReLU outputs 0 for it (NaN > 0 is false) and passes no gradient back,
  // so the loss stays finite and SGD never touches the NaN. Only the
  // parameter check stops the model from being saved.
  Sequential model = small_mlp();
  parameter(model, 0)(3, 10) = quiet_nan;
  Tensor images({8, 100});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 13) / 13.0f;
  const std::vector<std::uint8_t> labels{0, 1, 2, 3, 4, 5, 6, 7};
  SoftmaxCrossEntropy loss;
  Sgd sgd({0.05f, 0.9f, 0.0f});
  for (int step = 0; step < 5; ++step)
    CHECK(std::isfinite(train_step(model, loss, sgd, images, labels, 0.05f)));
  CHECK(find_non_finite_parameter(model) == "layer 0 Dense(100 -> 64): weight[3, 10] is NaN");
}
