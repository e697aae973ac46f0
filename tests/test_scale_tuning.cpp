// End-to-end grid tuning (quant/scale_tuning.hpp): the gradient through the
// grid against finite differences, it moves only steps, offsets and biases,
// a small step lowers the distillation loss for each way a grid is
// parametrized, and it refuses what it cannot use.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "quant/grid.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/scale_tuning.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

// Cross-entropy of the student's softmax against the teacher's, summed over rows.
double distillation_loss(Sequential student, Sequential teacher, const Tensor& x) {
  const Tensor s = student.forward(x);
  const Tensor t = teacher.forward(x);
  double loss = 0.0;
  for (std::size_t r = 0; r < s.dim(0); ++r) {
    double top = s(r, 0), total = 0.0, teacher_top = t(r, 0), teacher_total = 0.0;
    for (std::size_t c = 0; c < s.dim(1); ++c) {
      top = std::max(top, double(s(r, c)));
      teacher_top = std::max(teacher_top, double(t(r, c)));
    }
    for (std::size_t c = 0; c < s.dim(1); ++c) {
      total += std::exp(s(r, c) - top);
      teacher_total += std::exp(t(r, c) - teacher_top);
    }
    for (std::size_t c = 0; c < s.dim(1); ++c) {
      const double p_teacher = std::exp(t(r, c) - teacher_top) / teacher_total;
      loss -= p_teacher * (s(r, c) - top - std::log(total));
    }
  }
  return loss;
}

const QuantizedMatrix& weight_of(const Sequential& model, std::size_t i) {
  return dynamic_cast<const QuantizedDense&>(model.layer(i)).weight();
}

}  // namespace

TEST_CASE("the gradient through the grid matches finite differences, for every kind of grid") {
  Rng rng(11);
  const Tensor w = test::random_tensor({3, 40}, rng, -1.0f, 1.0f);
  const Tensor loss_grad = test::random_tensor({3, 40}, rng, -1.0f, 1.0f);
  // L(ŵ) = Σ G ŵ, so ∂L/∂ŵ = G whatever ŵ is.
  const auto loss = [&](const QuantizedMatrix& q) {
    const Tensor d = dequantize(q);
    double total = 0.0;
    for (std::size_t i = 0; i < d.size(); ++i) total += double(loss_grad.data()[i]) * d.data()[i];
    return total;
  };
  struct Case {
    Scheme scheme;
    GridChooser grid;
    const char* name;
  };
  for (const Case& c :
       {Case{Scheme::asymmetric, ignoring_importance(zero_exact_grid), "zero point"},
        Case{Scheme::symmetric, ignoring_importance(minmax_grid), "symmetric"},
        Case{Scheme::asymmetric, ignoring_importance(minmax_grid), "min-max"}}) {
    const std::string name = c.name;
    CAPTURE(name);
    const QuantizedMatrix q =
        quantize(w, {c.scheme, Granularity::group, 3, 16}, "w", c.grid);  // runs of 16, 16, 8
    std::vector<std::int32_t> codes(q.rows * q.cols);
    for (std::size_t r = 0; r < q.rows; ++r)
      q.unpack_row(r, std::span(codes).subspan(r * q.cols, q.cols));
    const GridGradient g = grid_gradient(q, codes, {loss_grad.data(), loss_grad.size()});
    REQUIRE(g.log_step.size() == 9);
    const double h = 1e-3;
    for (std::size_t b = 0; b < q.block_count(); ++b) {
      CAPTURE(b);
      // log s ± h with the shift μ (or zero point) held.
      const auto with_log_step = [&](double delta) {
        QuantizedMatrix moved = q;
        moved.scales[b] = float(q.scales[b] * std::exp(-delta));
        if (!q.zero_points.empty())
          moved.offsets[b] = float(-q.zero_points[b] / double(moved.scales[b]));
        else if (c.scheme == Scheme::asymmetric)
          moved.offsets[b] = float(q.offsets[b] * std::exp(delta));
        return loss(moved);
      };
      const double numeric = (with_log_step(h) - with_log_step(-h)) / (2 * h);
      CHECK(g.log_step[b] == doctest::Approx(numeric).epsilon(1e-3));
      if (c.scheme == Scheme::asymmetric && q.zero_points.empty()) {
        // μ ± h: the offset moves by ± h steps.
        const auto with_shift = [&](double delta) {
          QuantizedMatrix moved = q;
          moved.offsets[b] = float(q.offsets[b] + delta / double(q.scales[b]));
          return loss(moved);
        };
        CHECK(g.shift[b] ==
              doctest::Approx((with_shift(h) - with_shift(-h)) / (2 * h)).epsilon(1e-3));
      } else {
        CHECK(g.shift[b] == 0.0);
      }
    }
  }
}

TEST_CASE("grid tuning moves steps, offsets and biases, never a code or a zero point") {
  const Sequential model = make_mlp(12, {10}, 4, 5);
  Rng rng(3);
  const Tensor x = test::random_tensor({64, 12}, rng, 0.0f, 1.0f);
  QuantConfig config;
  config.format = {Scheme::asymmetric, Granularity::channel, 2, 64};
  config.grid = "zero-exact";
  const Sequential before = quantize_model(model, config, x);
  Sequential after = before;
  tune_scales(after, model, x, {.epochs = 3, .batch = 16, .learning_rate = 1e-2});
  for (const std::size_t i : {0u, 2u}) {
    const QuantizedMatrix& old_weight = weight_of(before, i);
    const QuantizedMatrix& new_weight = weight_of(after, i);
    CHECK(new_weight.format.bits == 2);
    CHECK(new_weight.codes == old_weight.codes);
    CHECK(new_weight.zero_points == old_weight.zero_points);
    CHECK(new_weight.scales != old_weight.scales);
    // Code z still means exactly 0: offset = -z / scale, as quantize writes it.
    for (std::size_t b = 0; b < new_weight.scales.size(); ++b)
      CHECK(new_weight.offsets[b] ==
            float(-new_weight.zero_points[b] / double(new_weight.scales[b])));
  }
}

TEST_CASE("one small tuning step lowers the distillation loss, for every kind of grid") {
  const Sequential model = make_mlp(12, {10}, 4, 7);
  Rng rng(4);
  const Tensor x = test::random_tensor({48, 12}, rng, 0.0f, 1.0f);
  struct Case {
    Scheme scheme;
    const char* grid;
  };
  // Zero points (s only), symmetric (s only), min-max asymmetric (s and μ).
  for (const Case c : {Case{Scheme::asymmetric, "zero-exact"}, Case{Scheme::symmetric, "minmax"},
                       Case{Scheme::asymmetric, "minmax"}}) {
    const std::string grid = c.grid;
    CAPTURE(grid);
    QuantConfig config;
    config.format = {c.scheme, Granularity::channel, 2, 64};
    config.grid = c.grid;
    const Sequential quantized = quantize_model(model, config, x);
    Sequential tuned = quantized;
    // One Adam step over the whole set (batch = samples), biases held: a
    // signed step of 1e-4 on every step and offset, downhill if the chain
    // rule through the grid is right.
    tune_scales(tuned, model, x,
                {.epochs = 1, .batch = 48, .learning_rate = 1e-4, .biases = false});
    CHECK(distillation_loss(tuned, model, x) < distillation_loss(quantized, model, x));
  }
}

TEST_CASE("grid tuning needs calibration inputs and a finite positive learning rate") {
  const Sequential model = make_mlp(12, {10}, 4, 5);
  QuantConfig config;
  config.format = {Scheme::asymmetric, Granularity::channel, 2, 64};
  config.tune_epochs = 2;
  CHECK_THROWS_WITH_AS(quantize_model(model, config),
                       "grid tuning needs calibration inputs (none were given)", Error);
  Rng rng(3);
  const Tensor x = test::random_tensor({8, 12}, rng, 0.0f, 1.0f);
  config.tune_learning_rate = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(quantize_model(model, config, x), Error);
  config.tune_learning_rate = 0.0;
  CHECK_THROWS_AS(quantize_model(model, config, x), Error);
}
