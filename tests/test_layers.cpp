// Dense and ReLU: forward values, gradients against central finite
// differences, width checks, initialisation.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "gradient_check.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

using test::check_gradient;
using test::random_tensor;
using test::weighted_sum;

}  // namespace

TEST_CASE("dense forward computes x·Wᵀ + b") {
  Dense dense(3, 2);
  dense.weight() = Tensor({2, 3}, std::vector<float>{1, 2, 3, -1, 0, 1});
  dense.bias() = Tensor({2}, std::vector<float>{0.5f, -2});
  const Tensor x({2, 3}, std::vector<float>{1, 1, 1, 2, 0, -1});
  const Tensor& y = dense.forward(x);
  REQUIRE(y.shape() == Shape{2, 2});
  CHECK(y(0, 0) == 6.5f);   // 1+2+3 + 0.5
  CHECK(y(0, 1) == -2.0f);  // -1+0+1 - 2
  CHECK(y(1, 0) == -0.5f);  // 2-3 + 0.5
  CHECK(y(1, 1) == -5.0f);  // -2-1 - 2
}

TEST_CASE("dense weight, bias and input gradients match finite differences") {
  Rng rng(7);
  const std::size_t batch = 3, inputs = 5, outputs = 4;  // odd, unequal sizes catch transposes
  Dense dense(inputs, outputs, rng);
  for (float& b : dense.bias().values()) b = rng.uniform(-1, 1);
  Tensor x = random_tensor({batch, inputs}, rng);
  const Tensor r = random_tensor({batch, outputs}, rng);

  dense.forward(x);
  const Tensor input_grad = dense.backward(r, true);
  const Tensor weight_grad = dense.weight_grad();
  const Tensor bias_grad = dense.bias_grad();
  REQUIRE(input_grad.shape() == x.shape());

  const auto loss = [&] { return weighted_sum(dense.forward(x), r); };
  check_gradient(dense.weight(), weight_grad, loss, "dW");
  check_gradient(dense.bias(), bias_grad, loss, "db");
  check_gradient(x, input_grad, loss, "dx");
}

TEST_CASE("dense backward uses the input as it was at forward, even if the caller changed it") {
  Dense dense(2, 1);
  Tensor x({1, 2}, std::vector<float>{3, 4});
  dense.forward(x);
  x.fill(-100.0f);  // e.g. the caller's batch buffer refilled for the next batch
  dense.backward(Tensor({1, 1}, std::vector<float>{2}), true);
  CHECK(dense.weight_grad()[0] == 6.0f);  // dW = Gᵀ·X = 2·[3, 4]
  CHECK(dense.weight_grad()[1] == 8.0f);
  CHECK(dense.bias_grad()[0] == 2.0f);
}

TEST_CASE("dense forward_kept gives the same output and gradients as forward") {
  Rng rng(11);
  Dense copying(5, 4, rng);
  Dense kept(5, 4);
  kept.weight() = copying.weight();
  const Tensor x = random_tensor({3, 5}, rng), g = random_tensor({3, 4}, rng);
  const Tensor y_copying = copying.forward(x);
  const Tensor y_kept = kept.forward_kept(x);
  const Tensor dx_copying = copying.backward(g, true);
  const Tensor dx_kept = kept.backward(g, true);
  CHECK(y_kept.values().size() == y_copying.values().size());
  for (std::size_t i = 0; i < y_kept.size(); ++i) CHECK(y_kept[i] == y_copying[i]);
  for (std::size_t i = 0; i < dx_kept.size(); ++i) CHECK(dx_kept[i] == dx_copying[i]);
  for (std::size_t i = 0; i < kept.weight_grad().size(); ++i)
    CHECK(kept.weight_grad()[i] == copying.weight_grad()[i]);
}

TEST_CASE("dense parameters expose the weight and bias with their gradients") {
  Dense dense(3, 2);
  const auto params = dense.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0].name == "weight");
  CHECK(params[0].value == &dense.weight());
  CHECK(params[0].grad->shape() == Shape{2, 3});
  CHECK(params[1].name == "bias");
  CHECK(params[1].value == &dense.bias());
  CHECK(params[1].grad->shape() == Shape{2});
}

TEST_CASE("dense skips the input gradient when nobody needs it") {
  Rng rng(1);
  Dense dense(4, 3, rng);
  const Tensor x = random_tensor({2, 4}, rng);
  dense.forward(x);
  CHECK(dense.backward(Tensor({2, 3}), false).empty());
}

TEST_CASE("dense rejects inputs of the wrong width, naming the layer") {
  Dense dense(4, 3);
  const Tensor x({2, 5});
  CHECK_THROWS_WITH_AS(dense.forward(x), doctest::Contains("Dense(4 -> 3)"), Error);
  CHECK_THROWS_WITH_AS(dense.forward(x), doctest::Contains("[2, 5]"), Error);
  CHECK_THROWS_AS(dense.forward(Tensor({4})), Error);
}

TEST_CASE("dense rejects a gradient of the wrong shape and backward before forward") {
  Dense dense(4, 3);
  CHECK_THROWS_AS(dense.backward(Tensor({2, 3}), true), Error);
  dense.forward(Tensor({2, 4}));
  CHECK_THROWS_AS(dense.backward(Tensor({2, 4}), true), Error);
  CHECK_THROWS_AS(dense.backward(Tensor({3, 3}), true), Error);
}

TEST_CASE("dense He-uniform init stays within sqrt(6/in), zero bias, same for the same seed") {
  Rng rng_a(42), rng_b(42);
  Dense a(24, 10, rng_a), b(24, 10, rng_b);
  const float bound = std::sqrt(6.0f / 24.0f);
  float largest = 0.0f;
  for (float w : a.weight().values()) largest = std::max(largest, std::abs(w));
  CHECK(largest <= bound);
  CHECK(largest > 0.8f * bound);  // 240 draws: the range is actually used
  for (float v : a.bias().values()) CHECK(v == 0.0f);
  CHECK(a.weight().values().size() == b.weight().values().size());
  for (std::size_t i = 0; i < a.weight().size(); ++i) CHECK(a.weight()[i] == b.weight()[i]);
}

TEST_CASE("dense reuses its output buffer from batch to batch") {
  Dense dense(3, 2);
  const float* first = dense.forward(Tensor({4, 3})).data();
  CHECK(dense.forward(Tensor({4, 3})).data() == first);
  CHECK(dense.forward(Tensor({2, 3})).data() == first);  // smaller batch fits too
}

TEST_CASE("dense clone is deep") {
  Dense dense(2, 2);
  auto copy = dense.clone();
  dense.weight()[0] = 5.0f;
  CHECK(static_cast<Dense&>(*copy).weight()[0] == 0.0f);
}

TEST_CASE("relu forward zeroes negatives and keeps positives") {
  Relu relu;
  const Tensor x({1, 4}, std::vector<float>{-2, 0, 0.5f, 3});
  const Tensor& y = relu.forward(x);
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == 0.0f);
  CHECK(y[2] == 0.5f);
  CHECK(y[3] == 3.0f);
}

TEST_CASE("relu input gradient matches finite differences away from the kink") {
  Rng rng(3);
  Tensor x({3, 7});
  // |x| >= 0.1 keeps x ± h on one side of 0, where ReLU is differentiable.
  for (float& v : x.values()) v = (rng.uniform() < 0.5f ? -1.0f : 1.0f) * rng.uniform(0.1f, 1.0f);
  const Tensor r = random_tensor({3, 7}, rng);
  Relu relu;
  relu.forward(x);
  const Tensor input_grad = relu.backward(r, true);
  check_gradient(
      x, input_grad, [&] { return weighted_sum(relu.forward(x), r); }, "dx");
}

TEST_CASE("relu rejects a gradient of a different shape") {
  Relu relu;
  relu.forward(Tensor({2, 3}));
  CHECK_THROWS_AS(relu.backward(Tensor({3, 2}), true), Error);
}
