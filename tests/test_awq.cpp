// Activation-aware scaling (quant/awq.hpp): the fold is exact, the first
// layer is left alone, and the search helps when one input channel is large.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/random.hpp"
#include "nn/dense.hpp"
#include "quant/awq.hpp"
#include "quant/quantize_model.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

// Hidden activations that differ in size by orders of magnitude, as trained
// networks have: the first layer's row j is scaled so that hidden unit j is
// about 10^(j%3 - 1), and the second layer's column j by the inverse, so that
// every unit contributes alike to the output. Rounded to nearest, the small
// weights of the large units are lost on a grid set by the large weights of
// the small ones.
Sequential uneven_model(std::uint64_t seed) {
  Sequential model = make_mlp(10, {12}, 4, seed);
  auto& first = dynamic_cast<Dense&>(model.layer(0));
  auto& second = dynamic_cast<Dense&>(model.layer(2));
  for (std::size_t j = 0; j < 12; ++j) {
    const float scale = std::pow(10.0f, float(j % 3) - 1.0f);
    for (float& v : first.weight().row(j)) v *= scale;
    first.bias()[j] = std::fabs(first.bias()[j]) * scale + 0.1f * scale;
    for (std::size_t r = 0; r < 4; ++r) second.weight()(r, j) /= scale;
  }
  return model;
}

double squared_distance(const Tensor& a, const Tensor& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return sum;
}

}  // namespace

TEST_CASE("AWQ rescaling leaves the float model's function unchanged and skips the first layer") {
  Sequential model = make_mlp(12, {8, 6}, 3, 4);
  Rng rng(3);
  const Tensor x = test::random_tensor({50, 12}, rng, 0.0f, 1.0f);
  Sequential scaled = model;
  QuantConfig config;
  config.format = {Scheme::asymmetric, Granularity::channel, 2, 64};
  const std::vector<AwqChoice> choices = awq_rescale(scaled, config, x);
  REQUIRE(choices.size() == 2);  // layers 2 and 4; layer 0 has nothing to fold into
  CHECK(choices[0].layer == 2);
  CHECK(choices[1].layer == 4);
  const Tensor before = model.forward(x), after = scaled.forward(x);
  for (std::size_t i = 0; i < before.size(); ++i)
    CHECK(after[i] == doctest::Approx(before[i]).epsilon(1e-5));
  // The first layer's columns are untouched (only its rows were divided).
  const auto& w0 = dynamic_cast<const Dense&>(model.layer(0)).weight();
  const auto& s0 = dynamic_cast<const Dense&>(scaled.layer(0)).weight();
  for (std::size_t r = 0; r < w0.dim(0); ++r) {
    const double ratio = s0(r, 0) / double(w0(r, 0));
    for (std::size_t c = 1; c < w0.dim(1); ++c)
      CHECK(s0(r, c) / double(w0(r, c)) == doctest::Approx(ratio).epsilon(1e-5));
  }
}

TEST_CASE("with inputs of very different sizes AWQ scales them and lowers the output error") {
  const Sequential model = uneven_model(6);
  Rng rng(5);
  const Tensor x = test::random_tensor({200, 10}, rng, 0.0f, 1.0f);
  QuantConfig config;
  config.format = {Scheme::asymmetric, Granularity::channel, 3, 64};
  Sequential scaled = model;
  const std::vector<AwqChoice> choices = awq_rescale(scaled, config, x);
  REQUIRE(choices.size() == 1);
  CHECK(choices[0].alpha > 0.0);
  Sequential reference = model;
  const Tensor exact = reference.forward(x);
  Sequential rtn = quantize_model(model, config, x);
  config.method = "awq";
  Sequential awq = quantize_model(model, config, x);
  CHECK(squared_distance(awq.forward(x), exact) < squared_distance(rtn.forward(x), exact));
}

TEST_CASE("with one grid per tensor AWQ scales only layers whose previous layer stays float") {
  const Sequential model = uneven_model(6);
  Rng rng(5);
  const Tensor x = test::random_tensor({50, 10}, rng, 0.0f, 1.0f);
  QuantConfig config;
  config.format = {Scheme::asymmetric, Granularity::tensor, 3, 64};
  Sequential scaled = model;
  CHECK(awq_rescale(scaled, config, x).empty());
  config.keep_float = {0};
  CHECK(awq_rescale(scaled, config, x).size() == 1);
}
