// Bias correction (quant/bias_correction.hpp): the mean output shift worked
// by hand, the corrected layer, and a corrected model whose mean outputs on
// the calibration inputs are the float model's.
#include <doctest/doctest.h>

#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "quant/bias_correction.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

Dense dense_1x2(float w0, float w1, float b) {
  Dense d(2, 1);
  d.weight()(0, 0) = w0;
  d.weight()(0, 1) = w1;
  d.bias()[0] = b;
  return d;
}

std::vector<double> column_means(const Tensor& y) {
  std::vector<double> mean(y.dim(1), 0.0);
  for (std::size_t n = 0; n < y.dim(0); ++n)
    for (std::size_t o = 0; o < y.dim(1); ++o) mean[o] += y(n, o) / double(y.dim(0));
  return mean;
}

}  // namespace

TEST_CASE("the mean output shift, worked by hand") {
  // Reference y = x0 + 2 x1 on its inputs [1, 1] and [3, 1]: 3 and 5, mean 4.
  // Quantized y = x0 + x1 + 0.5 on its inputs [1, 0] and [1, 2]: 1.5 and 3.5,
  // mean 2.5. The bias must gain 4 - 2.5 = 1.5.
  Dense reference = dense_1x2(1, 2, 0);
  Dense quantized = dense_1x2(1, 1, 0.5f);
  const Tensor x(Shape{2, 2}, std::vector<float>{1, 1, 3, 1});
  const Tensor x_quantized(Shape{2, 2}, std::vector<float>{1, 0, 1, 2});
  const std::vector<double> shift = mean_output_shift(reference, x, quantized, x_quantized);
  REQUIRE(shift.size() == 1);
  CHECK(shift[0] == doctest::Approx(1.5));
  CHECK_THROWS_WITH_AS(mean_output_shift(reference, x, quantized, Tensor(Shape{1, 2})),
                       doctest::Contains("the same nonzero number"), Error);
}

TEST_CASE("the shift goes into a QuantizedDense's bias and nowhere else") {
  const std::vector<float> w{0.5f, -0.25f, 1.0f, 0.75f};
  const QuantizedMatrix q =
      quantize(w, 2, 2, {Scheme::asymmetric, Granularity::channel, 4, 64}, "w");
  const QuantizedDense layer(q, Tensor(Shape{2}, std::vector<float>{0.1f, -0.2f}));
  const std::unique_ptr<Layer> shifted = with_bias_shift(layer, {1.0, -0.5});
  const auto& out = dynamic_cast<const QuantizedDense&>(*shifted);
  CHECK(out.bias()[0] == doctest::Approx(1.1));
  CHECK(out.bias()[1] == doctest::Approx(-0.7));
  CHECK(out.weight().codes == q.codes);
  CHECK(out.weight().scales == q.scales);
  CHECK_THROWS_WITH_AS(with_bias_shift(layer, {1.0}), "bias correction: expected 2 shifts, found 1",
                       Error);
  CHECK_THROWS_AS(with_bias_shift(dense_1x2(1, 1, 0), {1.0}), Error);
}

TEST_CASE("a bias-corrected model's mean outputs on the calibration inputs are the float model's") {
  Sequential model = make_mlp(12, {10}, 4, 5);
  Rng rng(2);
  const Tensor x = test::random_tensor({64, 12}, rng, 0.0f, 1.0f);
  QuantConfig config;
  config.format = {Scheme::asymmetric, Granularity::channel, 2, 64};
  const std::vector<double> want = column_means(Sequential(model).forward(x));
  Sequential plain = quantize_model(model, config, x);
  config.bias_correction = true;
  Sequential corrected = quantize_model(model, config, x);
  const std::vector<double> before = column_means(plain.forward(x));
  const std::vector<double> after = column_means(corrected.forward(x));
  double before_gap = 0.0;
  for (std::size_t o = 0; o < 4; ++o) {
    CHECK(after[o] == doctest::Approx(want[o]).epsilon(1e-5));
    before_gap += std::abs(before[o] - want[o]);
  }
  CHECK(before_gap > 1e-3);  // 2-bit rounding did move the means
  CHECK_THROWS_WITH_AS(quantize_model(model, config),
                       "bias correction needs calibration inputs (none were given)", Error);
}
