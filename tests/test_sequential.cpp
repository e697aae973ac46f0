// Sequential: width checks when layers are added or replaced, deep copies,
// forward/backward through the chain, make_mlp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"
#include "nn/sequential.hpp"
#include "nn/softmax_cross_entropy.hpp"

using namespace tinyq;

TEST_CASE("add rejects a layer whose input width does not fit, naming both widths") {
  Sequential model;
  model.add(std::make_unique<Dense>(4, 3));
  model.add(std::make_unique<Relu>());
  CHECK_THROWS_WITH_AS(model.add(std::make_unique<Dense>(4, 2)),
                       doctest::Contains("expects 4 inputs, previous layers produce 3"), Error);
  model.add(std::make_unique<Dense>(3, 2));  // the width flows through the ReLU
  CHECK(model.size() == 3);
  CHECK(model.input_features() == 4);
  CHECK(model.output_features() == 2);
  CHECK(model.describe() == "Dense(4 -> 3) -> ReLU -> Dense(3 -> 2)");
}

TEST_CASE("replace checks the widths on both sides") {
  Sequential model;
  model.add(std::make_unique<Dense>(4, 3));
  model.add(std::make_unique<Relu>());
  model.add(std::make_unique<Dense>(3, 2));
  CHECK_THROWS_AS(model.replace(2, std::make_unique<Dense>(4, 2)), Error);  // before: 3
  CHECK_THROWS_AS(model.replace(0, std::make_unique<Dense>(4, 7)), Error);  // after: 3
  model.replace(0, std::make_unique<Dense>(5, 3));  // the first layer may change its input
  CHECK_THROWS_AS(model.replace(3, std::make_unique<Relu>()), Error);
  model.replace(2, std::make_unique<Dense>(3, 6));
  CHECK(model.output_features() == 6);
}

TEST_CASE("copying a model copies its layers") {
  Sequential model = make_mlp(3, {4}, 2, 5);
  Sequential copy = model;
  static_cast<Dense&>(model.layer(0)).weight()[0] = 100.0f;
  CHECK(static_cast<Dense&>(copy.layer(0)).weight()[0] != 100.0f);
  Sequential assigned;
  assigned = model;
  static_cast<Dense&>(model.layer(0)).weight()[1] = -100.0f;
  CHECK(static_cast<Dense&>(assigned.layer(0)).weight()[1] != -100.0f);
  CHECK(static_cast<Dense&>(assigned.layer(0)).weight()[0] == 100.0f);
}

TEST_CASE("make_mlp builds Dense/ReLU pairs and counts parameters") {
  const Sequential model = make_mlp(784, {256, 128}, 10, 1);
  CHECK(model.describe() ==
        "Dense(784 -> 256) -> ReLU -> Dense(256 -> 128) -> ReLU -> Dense(128 -> 10)");
  CHECK(model.parameter_count() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
}

TEST_CASE("forward composes the layers and backward fills every gradient") {
  Sequential model = make_mlp(3, {5}, 2, 9);
  Tensor x({4, 3});
  Rng rng(2);
  for (float& v : x.values()) v = rng.uniform(-1, 1);
  const Tensor& y = model.forward(x);
  REQUIRE(y.shape() == Shape{4, 2});

  // The same computation by hand through the individual layers' copies.
  Sequential copy = model;
  const Tensor expected = copy.layer(2).forward(copy.layer(1).forward(copy.layer(0).forward(x)));
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == expected[i]);

  const Tensor grad_y({4, 2}, std::vector<float>{1, -2, 0.5f, 3, -1, 0.25f, 2, -0.5f});
  model.backward(grad_y);
  const auto params = model.parameters();
  REQUIRE(params.size() == 4);
  // The same chain rule by hand through the copy's layers, last to first.
  copy.layer(0).backward(copy.layer(1).backward(copy.layer(2).backward(grad_y, true), true), false);
  const auto expected_params = copy.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    CAPTURE(p);
    REQUIRE(params[p].grad->shape() == params[p].value->shape());
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < params[p].grad->size(); ++i) {
      CHECK((*params[p].grad)[i] == (*expected_params[p].grad)[i]);
      nonzero += (*params[p].grad)[i] != 0.0f;
    }
    CHECK(nonzero > 0);
  }
}

TEST_CASE("gradients through Sequential and softmax cross-entropy match finite differences") {
  // L = mean over the batch of -log softmax(model(x))[label]. Every weight
  // and bias of a 5 -> 7 -> 6 -> 4 MLP is nudged by ±h and the central
  // difference compared with backward's gradient. Float rounding of L
  // (~1e-7) over 2h = 2e-3 stays far below the tolerance; the seeds are ones
  // where no ReLU input lies within reach of its kink at this h.
  Sequential model = make_mlp(5, {7, 6}, 4, 21);
  Rng rng(4);
  for (const auto& p : model.parameters())
    if (p.name == "bias")
      for (float& b : p.value->values()) b = rng.uniform(-0.5f, 0.5f);
  Tensor x({3, 5});
  for (float& v : x.values()) v = rng.uniform(-1, 1);
  const std::vector<std::uint8_t> labels = {2, 0, 3};
  SoftmaxCrossEntropy loss;
  loss.forward(model.forward(x), labels);
  model.backward(loss.backward());
  const auto params = model.parameters();
  std::vector<Tensor> analytic;
  for (const auto& p : params) analytic.push_back(*p.grad);

  const float h = 1e-3f;
  std::size_t checked = 0;
  for (std::size_t p = 0; p < params.size(); ++p)
    for (std::size_t i = 0; i < params[p].value->size(); ++i) {
      float& v = (*params[p].value)[i];
      const float saved = v;
      v = saved + h;
      const double plus = loss.forward(model.forward(x), labels);
      v = saved - h;
      const double minus = loss.forward(model.forward(x), labels);
      v = saved;
      const double numeric = (plus - minus) / (2.0 * h);
      INFO("parameter " << p << " (" << params[p].name << ") [" << i << "]: analytic "
                        << analytic[p][i] << ", numeric " << numeric);
      CHECK(std::abs(analytic[p][i] - numeric) <= 1e-3 + 1e-3 * std::abs(numeric));
      ++checked;
    }
  CHECK(checked == 5 * 7 + 7 + 7 * 6 + 6 + 6 * 4 + 4);
}

TEST_CASE("make_mlp is deterministic in its seed") {
  const Sequential a = make_mlp(6, {5}, 3, 77), b = make_mlp(6, {5}, 3, 77),
                   c = make_mlp(6, {5}, 3, 78);
  const auto& wa = static_cast<const Dense&>(a.layer(0)).weight();
  const auto& wb = static_cast<const Dense&>(b.layer(0)).weight();
  const auto& wc = static_cast<const Dense&>(c.layer(0)).weight();
  for (std::size_t i = 0; i < wa.size(); ++i) CHECK(wa[i] == wb[i]);
  CHECK(wa[0] != wc[0]);
}

TEST_CASE("an empty model refuses to run") {
  Sequential model;
  CHECK_THROWS_AS(model.forward(Tensor({1, 1})), Error);
  CHECK_THROWS_AS(model.add(nullptr), Error);
}

TEST_CASE("a refused backward leaves every gradient as the last backward left it") {
  Sequential model = make_mlp(30, {20, 10}, 4, 3);
  Rng rng(9);
  Tensor x({16, 30}), other({16, 30});
  for (float& v : x.values()) v = rng.uniform(-1, 1);
  for (float& v : other.values()) v = rng.uniform(-1, 1);
  Tensor grad({16, 4});
  for (float& v : grad.values()) v = rng.uniform(-1, 1);
  const auto gradients = [&] {
    std::vector<std::vector<float>> all;
    for (const Parameter& p : model.parameters())
      all.emplace_back(p.grad->values().begin(), p.grad->values().end());
    return all;
  };
  CHECK_THROWS_AS(model.backward(grad), Error);  // no forward yet
  model.forward(x);
  model.backward(grad);
  const auto before = gradients();
  // After predict, after a forward that threw, and after a change of layers,
  // backward refuses before any layer has run: the last layers' gradients
  // are not overwritten on the way to the first layer's complaint.
  model.predict(other);
  CHECK_THROWS_AS(model.backward(grad), Error);
  CHECK(gradients() == before);
  model.forward(other);
  CHECK_THROWS_AS(model.forward(Tensor({16, 29})), Error);
  CHECK_THROWS_AS(model.backward(grad), Error);
  CHECK(gradients() == before);
  model.forward(other);
  model.replace(1, std::make_unique<Relu>());
  CHECK_THROWS_AS(model.backward(grad), Error);
  CHECK(gradients() == before);
  // A completed forward backs a backward again.
  model.forward(x);
  model.backward(grad);
  CHECK(gradients() == before);
}

TEST_CASE("parameters point into this model's own layers after a copy, move or replace") {
  Sequential model = make_mlp(3, {4}, 2, 5);
  Sequential copy = model;
  REQUIRE(copy.parameters().size() == 4);
  CHECK(copy.parameters()[0].value == &static_cast<Dense&>(copy.layer(0)).weight());
  Sequential moved = std::move(copy);
  CHECK(moved.parameters()[0].value == &static_cast<Dense&>(moved.layer(0)).weight());
  moved.replace(2, std::make_unique<Dense>(4, 2));
  CHECK(moved.parameters()[2].value == &static_cast<Dense&>(moved.layer(2)).weight());
  CHECK(moved.parameter_count() == 3 * 4 + 4 + 4 * 2 + 2);
}

TEST_CASE("a Dense before a ReLU applies it, and the next Dense its backward, with the same bits") {
  // Sequential lets Dense add its bias and apply the ReLU after it in the
  // epilogue of its product, and the Dense after the ReLU zero dL/dx where
  // the ReLU was off in the epilogue of its own: the results must be those
  // of the layers run one at a time. Batches 2 (row kernels), 37 and 100
  // (X·Wᵀ computed as its transpose), on 1 and 2 threads.
  const std::size_t threads_before = num_threads();
  const Sequential model = make_mlp(100, {130, 40}, 10, 4);
  Rng rng(8);
  for (const std::size_t threads : {1, 2})
    for (const std::size_t batch : {2, 37, 100})
      for (const bool kept : {false, true}) {
        CAPTURE(threads);
        CAPTURE(batch);
        CAPTURE(kept);
        set_num_threads(threads);
        Tensor x({batch, 100});
        for (float& v : x.values()) v = rng.uniform(-1, 1);
        Tensor grad_y({batch, 10});
        for (float& v : grad_y.values()) v = rng.uniform(-1, 1);

        Sequential fused = model, by_layer = model;
        const Tensor y = kept ? fused.forward_kept(x) : fused.forward(x);
        fused.backward(grad_y);

        std::vector<Tensor> inputs{x};
        for (std::size_t i = 0; i < by_layer.size(); ++i)
          inputs.push_back(by_layer.layer(i).forward(inputs.back()));
        Tensor grad = grad_y;
        for (std::size_t i = by_layer.size(); i > 0; --i)
          grad = Tensor(by_layer.layer(i - 1).backward(grad, i > 1));

        REQUIRE(y.shape() == inputs.back().shape());
        CHECK(std::memcmp(y.data(), inputs.back().data(), y.size() * sizeof(float)) == 0);
        // The ReLU layers hold the outputs they were handed, as their masks.
        for (const std::size_t i : {1, 3}) {
          const Tensor& mask = dynamic_cast<const Relu&>(fused.layer(i)).last_output();
          REQUIRE(mask.shape() == inputs[i + 1].shape());
          CHECK(std::memcmp(mask.data(), inputs[i + 1].data(), mask.size() * sizeof(float)) == 0);
        }
        const auto fused_params = fused.parameters(), by_layer_params = by_layer.parameters();
        for (std::size_t p = 0; p < fused_params.size(); ++p) {
          CAPTURE(p);
          const Tensor& g = *fused_params[p].grad;
          CHECK(std::memcmp(g.data(), by_layer_params[p].grad->data(), g.size() * sizeof(float)) ==
                0);
        }
        // Some units were off, so the masks mattered.
        std::size_t zeros = 0;
        for (const float v : inputs[2].values()) zeros += v == 0.0f;
        CHECK(zeros > 0);
      }
  set_num_threads(threads_before);
}

TEST_CASE("predict gives forward's bits and keeps nothing for a backward") {
  Sequential model = make_mlp(30, {20, 10}, 4, 3);
  Rng rng(8);
  Tensor x({70, 30});
  for (float& v : x.values()) v = rng.uniform(-1, 1);
  const Tensor expected = model.forward(x);
  const Tensor got = model.predict(x);
  CHECK(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
  // The first Dense forgot x (its caller may free it): backward refuses.
  const Tensor grad({70, 4}, std::vector<float>(280, 0.5f));
  CHECK_THROWS_AS(model.backward(grad), Error);
  // A forward then backs a backward again, with the gradients it gave before.
  Sequential twin = model;
  model.forward(x);
  model.backward(grad);
  twin.forward(x);
  twin.backward(grad);
  const auto& params = model.parameters();
  const auto& twin_params = twin.parameters();
  for (std::size_t p = 0; p < params.size(); ++p)
    CHECK(std::memcmp(params[p].grad->data(), twin_params[p].grad->data(),
                      params[p].grad->size() * sizeof(float)) == 0);
}
