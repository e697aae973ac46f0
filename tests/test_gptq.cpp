// GPTQ (quant/gptq.hpp): a worked example by hand, the factor of H⁻¹, error
// against round-to-nearest, dead inputs, damping, act-order, threads.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "quant/gptq.hpp"
#include "quant/grid_refit.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

QuantizedMatrix layout(std::size_t rows, std::size_t cols, QuantFormat format) {
  QuantizedMatrix q;
  q.format = format;
  if (format.granularity != Granularity::group) q.format.group_size = 0;
  q.rows = rows;
  q.cols = cols;
  return q;
}

const GridChooser minmax = ignoring_importance(minmax_grid);

// The hand-worked examples' H (a chain: each input correlated with its
// neighbours) and grid (symmetric 3-bit, step 1: levels -3..3).
const std::vector<double> worked_h{2, -1, 0, -1, 2, -1, 0, -1, 2};
const GridChooser step_one = [](std::span<const float>, std::span<const float>, Scheme, int) {
  return BlockGrid{0.0, 3.0, 3.0};
};

// Σ_rows (w - w')ᵀ H (w - w'): the output error GPTQ minimizes (times 2).
double output_error(std::span<const float> w, const RoundedMatrix& rounded,
                    const QuantizedMatrix& l, const std::vector<double>& h) {
  const std::size_t n = l.cols;
  double total = 0.0;
  for (std::size_t r = 0; r < l.rows; ++r) {
    std::vector<double> d(n);
    for (std::size_t c = 0; c < n; ++c) {
      const std::size_t run =
          l.format.granularity == Granularity::group ? c / l.block_columns() : 0;
      const BlockGrid& g = rounded.grids[l.block_index(r, run)];
      const std::int32_t q = rounded.codes[r * n + c];
      d[c] = w[r * n + c] - (g.usable() ? g.offset + q * g.range / g.levels : g.offset);
    }
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) total += d[i] * h[i * n + j] * d[j];
  }
  return total;
}

// Inputs with correlated columns (as pixels and hidden units are): each is a
// mix of a few shared sources plus noise, some columns larger than others.
Tensor correlated_inputs(std::size_t samples, std::size_t width, std::uint64_t seed) {
  Rng rng(seed);
  Tensor x(Shape{samples, width});
  for (std::size_t s = 0; s < samples; ++s) {
    const float a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    for (std::size_t c = 0; c < width; ++c)
      x(s, c) = (1.0f + float(c % 3)) * (a * float(c % 5) / 4 + b * float(c % 7) / 6) +
                0.3f * rng.uniform(-1, 1);
  }
  return x;
}

}  // namespace

TEST_CASE("the Hessian is 2/n · Σ x xᵀ, symmetric, at any thread count") {
  Tensor x = correlated_inputs(30, 9, 6);  // an odd width: a middle row without a pair
  for (std::size_t s = 0; s < 30; s += 2) x(s, s % 9) = 0.0f;
  const std::size_t threads = num_threads();
  for (const std::size_t t : {1, 3}) {
    set_num_threads(t);
    const std::vector<double> h = gptq_hessian(x);
    for (std::size_t i = 0; i < 9; ++i)
      for (std::size_t j = 0; j < 9; ++j) {
        double expected = 0.0;
        for (std::size_t s = 0; s < 30; ++s) expected += double(x(s, i)) * x(s, j);
        CHECK(h[i * 9 + j] == doctest::Approx(2.0 * expected / 30));
        CHECK(h[i * 9 + j] == h[j * 9 + i]);
      }
  }
  set_num_threads(threads);
}

TEST_CASE("quadratic_error is dᵀ H d summed row by row, zero terms skipped, to the bit") {
  // The definition, one row at a time (quadratic_error runs four rows in one
  // pass): magnitudes spread over 2^-30..2^30, so another order of additions
  // would show in the last bits; a third of d is 0 (or -0).
  Rng rng(5);
  std::size_t mismatches = 0;
  for (std::size_t trial = 0; trial < 300; ++trial) {
    const std::size_t n = 1 + trial % 40;
    std::vector<double> h(n * n), d(n);
    for (double& v : h) v = std::ldexp(rng.uniform(-1.0f, 1.0f), int(rng.below(61)) - 30);
    for (std::size_t i = 0; i < n; ++i)
      d[i] = i % 3 == 1 ? (i % 2 == 0 ? 0.0 : -0.0)
                        : std::ldexp(rng.uniform(-1.0f, 1.0f), int(rng.below(61)) - 30);
    double expected = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (d[i] == 0.0) continue;
      double s = 0.0;
      for (std::size_t j = 0; j < n; ++j) s += h[i * n + j] * d[j];
      expected += d[i] * s;
    }
    mismatches += quadratic_error(h, d) != expected;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("the upper factor of H⁻¹ multiplies back to H⁻¹, worked by hand") {
  // H = [[2, -1, 0], [-1, 2, -1], [0, -1, 2]] has H⁻¹ = [[3, 2, 1], [2, 4, 2], [1, 2, 3]] / 4,
  // so U's first row is H⁻¹'s first row over sqrt(3/4).
  const std::vector<double>& h = worked_h;
  const InverseFactor f = inverse_cholesky_upper(h, 3, 0.0);
  CHECK(f.damp == 0.0);
  CHECK(f.upper[0] == doctest::Approx(std::sqrt(0.75)));
  CHECK(f.upper[1] == doctest::Approx(0.5 / std::sqrt(0.75)));
  CHECK(f.upper[2] == doctest::Approx(0.25 / std::sqrt(0.75)));
  const double inverse[9] = {0.75, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.75};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(f.upper[i * 3 + j] == (j < i ? 0.0 : f.upper[i * 3 + j]));
      double uu = 0.0;
      for (std::size_t k = 0; k < 3; ++k) uu += f.upper[k * 3 + i] * f.upper[k * 3 + j];
      CHECK(uu == doctest::Approx(inverse[i * 3 + j]));
    }
}

TEST_CASE("GPTQ reproduces the worked example: one row, three inputs, a given H") {
  // Grid: symmetric 3-bit with step 1 (levels -3..3). Row w = [0.7, 0.25, -0.4],
  // H as above, no damping. The OBS step w ← w - (w_q - q) / [H⁻¹]_qq · H⁻¹_:,q:
  //  1. w1 = 0.7 rounds to 1, error -0.3; [H⁻¹]_11 = 3/4, so w2 += 0.4 · 1/2 = 0.2
  //     (0.45) and w3 += 0.4 · 1/4 = 0.1 (-0.3).
  //  2. Without input 1, H⁻¹ of inputs 2, 3 is [[2, 1], [1, 2]] / 3. w2 = 0.45 rounds
  //     to 0, error 0.45, so w3 -= 0.45 / (2/3) · 1/3 = 0.225 (-0.525).
  //  3. w3 = -0.525 rounds to -1.
  // GPTQ gives [1, 0, -1] where rounding to nearest gives [1, 0, 0]; the output
  // errors (w - w')ᵀ H (w - w') are 0.875 and 0.975.
  const std::vector<double>& h = worked_h;
  const std::vector<float> w{0.7f, 0.25f, -0.4f};
  const QuantizedMatrix l = layout(1, 3, {Scheme::symmetric, Granularity::channel, 3, 64});
  const RoundedMatrix gptq = gptq_round(w, l, step_one, {}, h, {.damp = 0.0});
  CHECK(gptq.codes == std::vector<std::int32_t>{1, 0, -1});
  const RoundedMatrix nearest = round_to_nearest(w, l, step_one);
  CHECK(nearest.codes == std::vector<std::int32_t>{1, 0, 0});
  CHECK(output_error(w, gptq, l, h) == doctest::Approx(0.875).epsilon(1e-6));
  CHECK(output_error(w, nearest, l, h) == doctest::Approx(0.975).epsilon(1e-6));
}

TEST_CASE("GPTQ's output error on the calibration inputs is at most round-to-nearest's") {
  const Tensor x = correlated_inputs(200, 40, 5);
  const std::vector<double> h = gptq_hessian(x);
  Rng rng(9);
  const std::vector<float> w = test::random_values(8 * 40, rng);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (int bits = 2; bits <= 4; ++bits)
        for (const bool act_order : {false, true}) {
          const QuantizedMatrix l = layout(8, 40, {scheme, granularity, bits, 16});
          const double rtn = output_error(w, round_to_nearest(w, l, minmax), l, h);
          const double gptq =
              output_error(w, gptq_round(w, l, minmax, {}, h, {.act_order = act_order}), l, h);
          CAPTURE(to_string(l.format));
          CAPTURE(act_order);
          CHECK(gptq <= rtn);
        }
}

TEST_CASE("a dead input gets weight 0 and leaves the other columns as they would be") {
  Tensor x = correlated_inputs(100, 12, 3);
  for (std::size_t s = 0; s < 100; ++s) x(s, 4) = 0.0f;  // input 4 is never active
  const std::vector<double> h = gptq_hessian(x);
  CHECK(h[4 * 12 + 4] == 0.0);
  Rng rng(2);
  std::vector<float> w = test::random_values(3 * 12, rng);
  const QuantizedMatrix l = layout(3, 12, {Scheme::asymmetric, Granularity::channel, 3, 64});
  const GridChooser zero_exact = ignoring_importance(zero_exact_grid);
  const RoundedMatrix a = gptq_round(w, l, zero_exact, {}, h, {});
  for (std::size_t r = 0; r < 3; ++r) {
    const BlockGrid& g = a.grids[r];
    const std::int32_t q = a.codes[r * 12 + 4];
    CHECK(g.offset + q * g.range / g.levels == 0.0);  // exactly the zero level
  }
  // Whatever the dead column held, the result is the same.
  for (std::size_t r = 0; r < 3; ++r) w[r * 12 + 4] = 5.0f;
  const RoundedMatrix b = gptq_round(w, l, zero_exact, {}, h, {});
  CHECK(a.codes == b.codes);
}

TEST_CASE("a failed Cholesky factorization raises the damping tenfold until it succeeds") {
  // [[1, 2], [2, 1]] is indefinite: H + λI is positive definite only for λ > 1
  // (mean diagonal 1), so damp goes 0 -> 1e-6 -> 1e-5 ... -> 10.
  const std::vector<double> h{1, 2, 2, 1};
  const InverseFactor f = inverse_cholesky_upper(h, 2, 0.0);
  CHECK(f.damp == doctest::Approx(10.0));
  // Uᵀ U = (H + 10 I)⁻¹ = [[11, -2], [-2, 11]] / 117.
  const double expected[4] = {11.0 / 117, -2.0 / 117, -2.0 / 117, 11.0 / 117};
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 2; ++j)
      CHECK(f.upper[i] * f.upper[j] + f.upper[2 + i] * f.upper[2 + j] ==
            doctest::Approx(expected[i * 2 + j]));
  // A singular H from duplicated inputs, undamped, still quantizes.
  Tensor x = correlated_inputs(30, 6, 1);
  for (std::size_t s = 0; s < 30; ++s) x(s, 5) = x(s, 4);
  const std::vector<float> w(2 * 6, 0.5f);
  const QuantizedMatrix l = layout(2, 6, {Scheme::symmetric, Granularity::channel, 2, 64});
  CHECK_NOTHROW(gptq_round(w, l, minmax, {}, gptq_hessian(x), {.damp = 0.0}));
}

TEST_CASE("act-order with groups fits every group's grid on the original weights first") {
  const Tensor x = correlated_inputs(100, 48, 7);
  const std::vector<double> h = gptq_hessian(x);
  Rng rng(4);
  const std::vector<float> w = test::random_values(4 * 48, rng);
  const QuantizedMatrix l = layout(4, 48, {Scheme::asymmetric, Granularity::group, 2, 16});
  const RoundedMatrix static_groups = gptq_round(w, l, minmax, {}, h, {.act_order = true});
  const RoundedMatrix nearest = round_to_nearest(w, l, minmax);
  for (std::size_t b = 0; b < l.block_count(); ++b) {
    CHECK(static_groups.grids[b].offset == nearest.grids[b].offset);
    CHECK(static_groups.grids[b].range == nearest.grids[b].range);
  }
  // In natural order each group is fitted on the weights as updated so far:
  // the first group of a row sees the original weights, later ones do not.
  const RoundedMatrix lazy = gptq_round(w, l, minmax, {}, h, {});
  CHECK(lazy.grids[0].range == nearest.grids[0].range);
  bool later_differs = false;
  for (std::size_t b = 1; b < l.block_count(); ++b)
    later_differs = later_differs || lazy.grids[b].range != nearest.grids[b].range;
  CHECK(later_differs);
}

TEST_CASE("GPTQ gives the same codes at any thread count") {
  const Tensor x = correlated_inputs(100, 200, 11);
  const std::vector<double> h = gptq_hessian(x);
  Rng rng(8);
  const std::vector<float> w = test::random_values(64 * 200, rng);
  const QuantizedMatrix l = layout(64, 200, {Scheme::symmetric, Granularity::group, 3, 32});
  const std::size_t threads = num_threads();
  set_num_threads(1);
  const RoundedMatrix one = gptq_round(w, l, minmax, {}, h, {.block_columns = 64});
  set_num_threads(3);
  const RoundedMatrix three = gptq_round(w, l, minmax, {}, h, {.block_columns = 64});
  set_num_threads(threads);
  CHECK(one.codes == three.codes);
}

TEST_CASE("GPTQ through quantize_model needs calibration data and a valid damp") {
  Rng rng(1);
  Sequential model;
  QuantConfig c;
  c.method = "gptq";
  c.format = {Scheme::asymmetric, Granularity::channel, 3, 64};
  const Tensor x = correlated_inputs(20, 6, 2);
  CHECK_THROWS_WITH_AS(quantize_model(model, c),
                       "method gptq needs calibration inputs (none were given)", Error);
  c.damp = std::nan("");
  CHECK_THROWS_WITH_AS(quantize_model(model, c, x),
                       doctest::Contains("damp must be a finite number >= 0"), Error);
  c.damp = -0.5;
  CHECK_THROWS_WITH_AS(quantize_model(model, c, x),
                       doctest::Contains("damp must be a finite number >= 0"), Error);
  c.damp = 0.01;
  c.method = "obq";
  CHECK_THROWS_WITH_AS(quantize_model(model, c, x),
                       "unknown quantization method 'obq': expected rtn, awq, gptq or awq+gptq",
                       Error);
}

TEST_CASE("refitting a grid to fixed codes is least squares in H, worked by hand") {
  // Symmetric 3-bit, step 1: w = [0.9, 2.1, -1.0] has codes q = [1, 2, -1].
  // With H as above, ŵ = s q costs (w - s q)ᵀ H (w - s q), least at
  //   s = qᵀ H w / qᵀ H q,  H q = [0, 4, -4]:  s = (8.4 + 4) / (8 + 4) = 31/30,
  // so the range (3 steps) becomes 3.1; the codes stay.
  const std::vector<double>& h = worked_h;
  const std::vector<float> w{0.9f, 2.1f, -1.0f};
  const QuantizedMatrix l = layout(1, 3, {Scheme::symmetric, Granularity::channel, 3, 64});
  RoundedMatrix rounded = round_to_nearest(w, l, step_one);
  REQUIRE(rounded.codes == std::vector<std::int32_t>{1, 2, -1});
  const double before = hessian_error(w, l, rounded, h);
  refit_grids(w, l, rounded, h);
  CHECK(rounded.codes == std::vector<std::int32_t>{1, 2, -1});
  CHECK(rounded.grids[0].range == doctest::Approx(3.1));
  CHECK(rounded.grids[0].offset == 0.0);
  CHECK(hessian_error(w, l, rounded, h) < before);
  CHECK(hessian_error(w, l, rounded, h) == doctest::Approx(output_error(w, rounded, l, h)));
}

TEST_CASE("a refitted asymmetric grid keeps its zero point; a min-max one refits its offset") {
  const Tensor x = correlated_inputs(100, 32, 4);
  const std::vector<double> h = gptq_hessian(x);
  Rng rng(6);
  const std::vector<float> w = test::random_values(4 * 32, rng);
  const QuantizedMatrix l = layout(4, 32, {Scheme::asymmetric, Granularity::group, 2, 16});
  RoundedMatrix exact = round_to_nearest(w, l, ignoring_importance(zero_exact_grid));
  refit_grids(w, l, exact, h);
  CHECK(exact_zero_points(exact.grids, Scheme::asymmetric).size() == l.block_count());
  RoundedMatrix spanning = round_to_nearest(w, l, minmax);
  const RoundedMatrix before = spanning;
  refit_grids(w, l, spanning, h);
  bool offset_moved = false;
  for (std::size_t b = 0; b < l.block_count(); ++b)
    offset_moved = offset_moved || spanning.grids[b].offset != before.grids[b].offset;
  CHECK(offset_moved);
  CHECK(hessian_error(w, l, spanning, h) < hessian_error(w, l, before, h));
}

TEST_CASE("GPTQ refits never raise the output error, in every format, at any thread count") {
  const Tensor x = correlated_inputs(200, 40, 5);
  const std::vector<double> h = gptq_hessian(x);
  Rng rng(9);
  const std::vector<float> w = test::random_values(8 * 40, rng);
  const std::size_t threads = num_threads();
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric, Scheme::ternary})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {2, 3, 4, 8})
        for (const bool act_order : {false, true}) {
          if (scheme == Scheme::ternary && bits != ternary_bits) continue;
          const QuantizedMatrix l = layout(8, 40, {scheme, granularity, bits, 16});
          const GridChooser grid = ignoring_importance(zero_exact_grid);
          const double once =
              output_error(w, gptq_round(w, l, grid, {}, h, {.act_order = act_order}), l, h);
          set_num_threads(1);
          const RoundedMatrix one =
              gptq_round(w, l, grid, {}, h, {.act_order = act_order, .refits = 3});
          set_num_threads(3);
          const RoundedMatrix three =
              gptq_round(w, l, grid, {}, h, {.act_order = act_order, .refits = 3});
          set_num_threads(threads);
          CAPTURE(to_string(l.format));
          CAPTURE(act_order);
          CHECK(output_error(w, one, l, h) <= once);
          CHECK(one.codes == three.codes);
          for (std::size_t b = 0; b < l.block_count(); ++b) {
            CHECK(one.grids[b].range == three.grids[b].range);
            CHECK(one.grids[b].offset == three.grids[b].offset);
          }
        }
}
