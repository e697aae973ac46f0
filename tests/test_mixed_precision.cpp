// Mixed precision: the knapsack over layers, and the plan on a small MLP.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "quant/mixed_precision.hpp"
#include "quant/quantized_dense.hpp"

using namespace tinyq;

namespace {

LayerOption option(std::uint64_t bits, double sensitivity) {
  LayerOption o;
  o.stored_bits = bits;
  o.sensitivity = sensitivity;
  return o;
}

// Every combination, for checking the front against.
double brute_force_best(const std::vector<std::vector<LayerOption>>& layers, double budget) {
  double best = 1e300;
  std::vector<std::size_t> pick(layers.size(), 0);
  for (;;) {
    std::uint64_t cost = 0;
    double loss = 0;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      cost += layers[l][pick[l]].stored_bits;
      loss += layers[l][pick[l]].sensitivity;
    }
    if (double(cost) <= budget) best = std::min(best, loss);
    std::size_t l = 0;
    while (l < layers.size() && ++pick[l] == layers[l].size()) pick[l++] = 0;
    if (l == layers.size()) return best;
  }
}

}  // namespace

TEST_CASE("the choice is the best within the budget, where spending greedily is not") {
  // Two layers. Layer 0: 2 bits costs 20 (loss 5), 3 bits 30 (loss 1).
  // Layer 1: 2 bits costs 10 (loss 4), 4 bits 20 (loss 0.5). Budget 45:
  // upgrading layer 0 (30 + 10 = 40, loss 5) or layer 1 (20 + 20 = 40,
  // loss 5.5) fit, both do not (50). A greedy pass by the largest gain per
  // bit (layer 1: 3.5 / 10 bits) would take layer 1 first and be stuck.
  const std::vector<std::vector<LayerOption>> layers = {{option(20, 5), option(30, 1)},
                                                        {option(10, 4), option(20, 0.5)}};
  const auto chosen = choose_options(layers, 45);
  REQUIRE(chosen);
  CHECK(*chosen == std::vector<std::size_t>{1, 0});                     // loss 1 + 4 = 5
  CHECK(choose_options(layers, 50) == std::vector<std::size_t>{1, 1});  // exactly the budget
  CHECK(choose_options(layers, 30) == std::vector<std::size_t>{0, 0});
  CHECK_FALSE(choose_options(layers, 29.9));  // the cheapest costs 30
}

TEST_CASE("the front finds what trying every combination finds") {
  Rng rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::vector<LayerOption>> layers(1 + rng.below(4));
    for (auto& options : layers)
      for (std::size_t k = 0, n = 1 + rng.below(4); k < n; ++k)
        options.push_back(option(1 + rng.below(40), rng.uniform(0, 10)));
    const double budget = double(rng.below(120));
    const auto chosen = choose_options(layers, budget);
    const double best = brute_force_best(layers, budget);
    REQUIRE(bool(chosen) == (best < 1e300));
    if (!chosen) continue;
    std::uint64_t cost = 0;
    double loss = 0;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      cost += layers[l][(*chosen)[l]].stored_bits;
      loss += layers[l][(*chosen)[l]].sensitivity;
    }
    CHECK(double(cost) <= budget);
    CHECK(loss == doctest::Approx(best));
  }
}

TEST_CASE("a plan stays within its budget as the quantized model stores it") {
  const Sequential model = make_mlp(40, {24}, 5, 3);
  Tensor calibration(Shape{32, 40});
  Rng rng(9);
  for (float& v : calibration.values()) v = rng.uniform();
  const std::vector<QuantFormat> candidates = {{Scheme::asymmetric, Granularity::channel, 2, 64},
                                               {Scheme::asymmetric, Granularity::channel, 4, 64},
                                               {Scheme::asymmetric, Granularity::channel, 8, 64}};
  // Weights: 40·24 + 24·5 = 1080. Layer 0 rows of 40 codes: 10, 20 or 40
  // bytes, plus 8 bytes of scale and offset; layer 2 rows of 24: 6, 12, 24 + 8.
  const MixedPrecisionPlan plan = plan_mixed_precision(model, {}, candidates, 4.0, calibration);
  REQUIRE(plan.layers == std::vector<std::size_t>{0, 2});
  CHECK(plan.weights == 1080);
  CHECK(plan.options[0][0].stored_bits == 24 * (10 + 8) * 8);
  CHECK(plan.options[1][2].stored_bits == 5 * (24 + 8) * 8);
  CHECK(plan.bits_per_weight() <= 4.0);
  // More bits move the outputs less.
  CHECK(plan.options[0][0].sensitivity > plan.options[0][2].sensitivity);
  const Sequential mixed = quantize_mixed(model, {}, plan, calibration);
  std::uint64_t stored = 0;
  for (std::size_t l = 0; l < plan.layers.size(); ++l) {
    const QuantizedMatrix* q = quantized_weight(mixed.layer(plan.layers[l]));
    REQUIRE(q);
    CHECK(to_string(q->format) == to_string(plan.options[l][plan.chosen[l]].format));
    stored += stored_weight_bits(mixed.layer(plan.layers[l]));
  }
  CHECK(stored == plan.stored_bits);
  CHECK(double(stored) <= 4.0 * 1080);
  // A budget under the cheapest choice (2 bits plus the scales) is refused.
  CHECK_THROWS_AS(plan_mixed_precision(model, {}, candidates, 2.0, calibration), Error);
  CHECK_THROWS_AS(plan_mixed_precision(model, {}, candidates, 4.0, Tensor()), Error);
}
