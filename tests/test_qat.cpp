// FakeQuantDense and QAT models: the fake-quantized forward equals the
// exported QuantizedDense, the STE and LSQ gradients, finite differences for
// what is differentiable, and export through a model file.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/isa.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "gradient_check.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "nn/sequential.hpp"
#include "quant/fake_quant_dense.hpp"
#include "quant/fake_quant_kernels.hpp"
#include "quant/grid_search.hpp"
#include "quant/qat.hpp"
#include "quant/quantize.hpp"
#include "quant/registry.hpp"
#include "quant/rounding.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

using test::check_gradient;
using test::random_tensor;
using test::weighted_sum;

Dense random_dense(std::size_t in, std::size_t out, Rng& rng) {
  Dense dense(in, out, rng);
  for (float& b : dense.bias().values()) b = rng.uniform(-0.5f, 0.5f);
  return dense;
}

void check_close(const Tensor& a, const Tensor& b, const std::string& what) {
  REQUIRE(a.shape() == b.shape());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(what << " [" << i << "]: " << a[i] << " vs " << b[i]);
    CHECK(std::abs(a[i] - b[i]) <= 1e-5f * (1.0f + std::abs(b[i])));
  }
}

// y = x · W_qᵀ + b from the fake layer and from its export agree to float
// rounding: 1e-5 relative to the size of the terms summed, as
// test_quantized_dense.cpp measures it (the integer path's offset term adds
// a few steps' worth of rounding at low bit widths).
void check_same_layer_output(const Tensor& x, const FakeQuantDense& fake, const Tensor& y,
                             const Tensor& expected) {
  REQUIRE(y.shape() == expected.shape());
  const Tensor& w = fake.quantized_weight();
  for (std::size_t r = 0; r < y.dim(0); ++r)
    for (std::size_t j = 0; j < y.dim(1); ++j) {
      double magnitude = std::fabs(fake.bias()[j]);
      for (std::size_t i = 0; i < x.dim(1); ++i)
        magnitude += std::fabs(x(r, i)) * (std::fabs(w(j, i)) + 1.25);
      INFO(fake.describe() << " [" << r << ", " << j << "]: " << y(r, j) << " vs "
                           << expected(r, j));
      CHECK(std::fabs(y(r, j) - expected(r, j)) <= 1e-5 * magnitude);
    }
}

}  // namespace

TEST_CASE("fake-quantized forward equals the exported QuantizedDense, every format") {
  Rng rng(3);
  const Tensor x = random_tensor({5, 37}, rng);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric, Scheme::ternary})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (int bits = min_bits; bits <= max_bits; ++bits)
        for (const bool learn : {false, true})
          for (const GridChooser& grid :
               {ignoring_importance(minmax_grid), GridChooser(search_grid)}) {
            if (scheme == Scheme::ternary && bits != ternary_bits) continue;
            const QuantFormat format{scheme, granularity, bits, 16};
            FakeQuantDense fake(random_dense(37, 6, rng), format, grid, learn);
            const std::unique_ptr<QuantizedDense> exported = fake.to_quantized();
            const Tensor y = fake.forward(x);
            check_same_layer_output(x, fake, y, exported->forward(x));
            // The weights trained on are the ones stored, bit for bit.
            const Tensor stored = dequantize(exported->weight());
            const auto trained = fake.quantized_weight().values();
            CHECK(std::equal(trained.begin(), trained.end(), stored.values().begin()));
          }
}

TEST_CASE("the STE passes dL/dW_q inside the grid and zero where a weight is clipped") {
  Rng rng(5);
  // A grid spanning half of max |w| clips the largest weights, so both cases occur.
  const auto half_range = [](std::span<const float> block, std::span<const float>, Scheme scheme,
                             int bits) {
    BlockGrid grid = minmax_grid(block, scheme, bits);
    grid.range /= 2;
    return grid;
  };
  FakeQuantDense fake(random_dense(40, 7, rng), {Scheme::symmetric, Granularity::channel, 2, 64},
                      half_range);
  const Tensor x = random_tensor({4, 40}, rng);
  const Tensor r = random_tensor({4, 7}, rng);
  fake.forward(x);
  fake.backward(r, true);

  Dense reference(40, 7);  // W_q as plain weights: dL/dW_q
  reference.weight() = fake.quantized_weight();
  reference.bias() = fake.bias();
  reference.forward(x);
  reference.backward(r, true);

  std::size_t clipped = 0;
  for (std::size_t j = 0; j < 7; ++j) {
    const BlockGrid grid = half_range(fake.weight().row(j), {}, Scheme::symmetric, 2);
    for (std::size_t i = 0; i < 40; ++i) {
      const std::size_t k = j * 40 + i;
      const bool inside = std::abs(fake.weight()[k]) <= grid.range * 1.5;  // round(v) <= 1
      clipped += inside ? 0 : 1;
      CHECK(fake.weight_grad()[k] == (inside ? reference.weight_grad()[k] : 0.0f));
    }
  }
  CHECK(clipped > 0);
}

TEST_CASE("input and bias gradients match finite differences, dW_q too") {
  Rng rng(9);
  for (const bool learn : {false, true}) {
    FakeQuantDense fake(random_dense(6, 4, rng), {Scheme::asymmetric, Granularity::group, 3, 16},
                        ignoring_importance(minmax_grid), learn);
    Tensor x = random_tensor({3, 6}, rng);
    const Tensor r = random_tensor({3, 4}, rng);
    fake.forward(x);
    const Tensor input_grad = fake.backward(r, true);
    const Tensor bias_grad = fake.bias_grad();
    const auto loss = [&] { return weighted_sum(fake.forward(x), r); };
    check_gradient(x, input_grad, loss, "dx");
    check_gradient(fake.bias(), bias_grad, loss, "db");

    // With min-max grids nothing is clipped: dL/dW is dL/dW_q, which finite
    // differences of a Dense holding W_q give.
    Dense reference(6, 4);
    reference.weight() = fake.quantized_weight();
    reference.bias() = fake.bias();
    const auto reference_loss = [&] { return weighted_sum(reference.forward(x), r); };
    if (!learn) check_gradient(reference.weight(), fake.weight_grad(), reference_loss, "dW");
  }
}

TEST_CASE("LSQ step and offset gradients follow q - v inside, the end level where clipped") {
  // One row, asymmetric 2-bit (codes 0..3), learned step 1 and offset 0.
  Dense dense(4, 1);
  dense.weight() = Tensor({1, 4}, std::vector<float>{0.0f, 1.2f, 2.0f, 3.0f});
  FakeQuantDense fake(dense, {Scheme::asymmetric, Granularity::channel, 2, 64},
                      ignoring_importance(minmax_grid), true);
  REQUIRE(fake.steps()[0] == 1.0f);
  fake.offsets()[0] = 0.0f;
  fake.weight() = Tensor({1, 4}, std::vector<float>{-0.7f, 1.2f, 2.0f, 4.4f});
  const Tensor x({1, 4}, std::vector<float>{1, 1, 1, 1});
  fake.forward(x);
  // Codes: clamp(round(-0.7)) = -1 -> 0 clipped; 1 (v = 1.2); 2 (v = 2); 4 -> 3 clipped.
  const auto w_q = fake.quantized_weight().values();
  CHECK(std::vector<float>(w_q.begin(), w_q.end()) == std::vector<float>{0.0f, 1.0f, 2.0f, 3.0f});
  fake.backward(Tensor({1, 1}, std::vector<float>{2.0f}), true);  // dL/dW_q = 2 · x = 2
  const double g = 1.0 / std::sqrt(4.0 * 3.0);
  // Σ 2 · (0 [clipped low], 1 - 1.2, 2 - 2, 3 [clipped high]) = 2 · 2.8
  CHECK(fake.step_grad()[0] == doctest::Approx(g * 2.0 * 2.8).epsilon(1e-6));
  CHECK(fake.offset_grad()[0] == doctest::Approx(g * 2.0 * 2.0).epsilon(1e-6));
  const auto grad = fake.weight_grad().values();
  CHECK(std::vector<float>(grad.begin(), grad.end()) == std::vector<float>{0.0f, 2.0f, 2.0f, 0.0f});
}

TEST_CASE("a QAT model trains, exports, saves and reloads with the same outputs") {
  Rng rng(11);
  Sequential model = make_mlp(12, {8}, 3, 4);
  const Sequential qat_initial =
      make_qat_model(model, {{Scheme::symmetric, Granularity::channel, 3, 64}, "minmax", true});
  Sequential qat = qat_initial;
  CHECK(qat.describe().find("FakeQuantDense(12 -> 8, symmetric/channel/3-bit") !=
        std::string::npos);
  CHECK(qat.parameters().size() == 6);  // weight, bias, step for each of two layers
  const Tensor x = random_tensor({6, 12}, rng);
  const Sequential exported = export_qat_model(qat);
  REQUIRE(is_quantized(exported));
  Sequential reloaded = deserialize_model(serialize_model(exported), "memory", all_layers());
  check_close(qat.forward(x), reloaded.forward(x), "reloaded");
}

TEST_CASE("make_qat_model refuses an invalid format or grid") {
  const Sequential model = make_mlp(4, {3}, 2, 1);
  CHECK_THROWS_AS(make_qat_model(model, {{Scheme::symmetric, Granularity::channel, 1, 64}}), Error);
  CHECK_THROWS_AS(make_qat_model(model, {{Scheme::symmetric, Granularity::group, 4, 24}}), Error);
  CHECK_THROWS_AS(make_qat_model(model, {{}, "nonsense"}), Error);
}

TEST_CASE("fake quantization picks nearest_code's codes, halfway cases rounded away from zero") {
  Rng rng(13);
  // Ties: at 2-bit asymmetric on [0, 3] and 3-bit symmetric on [-3, 3] the
  // level of w is w itself, so halves land exactly between two codes.
  const std::vector<std::pair<QuantFormat, std::vector<float>>> cases = {
      {{Scheme::asymmetric, Granularity::channel, 2, 64}, {0.0f, 0.5f, 1.5f, 2.5f, 3.0f, 1.0f}},
      {{Scheme::symmetric, Granularity::channel, 3, 64}, {-3.0f, -2.5f, -1.5f, -0.5f, 0.5f, 3.0f}},
  };
  for (const auto& [format, row] : cases) {
    Dense dense(row.size(), 1);
    dense.weight() = Tensor({1, row.size()}, row);
    const auto exported = FakeQuantDense(dense, format).to_quantized();
    const QuantizedMatrix expected = quantize(dense.weight(), format);
    CHECK(exported->weight().codes == expected.codes);
  }
  // And on random weights, for every format and both grids.
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric, Scheme::ternary})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (int bits = min_bits; bits <= max_bits; ++bits)
        for (const GridChooser& grid :
             {ignoring_importance(minmax_grid), GridChooser(search_grid)}) {
          if (scheme == Scheme::ternary && bits != ternary_bits) continue;
          const QuantFormat format{scheme, granularity, bits, 16};
          const Dense dense = random_dense(50, 5, rng);
          const QuantizedMatrix expected =
              quantize(dense.weight(), format, "w", grid, round_to_nearest);
          const auto exported = FakeQuantDense(dense, format, grid).to_quantized();
          CAPTURE(to_string(format));
          CHECK(exported->weight().codes == expected.codes);
          CHECK(exported->weight().scales == expected.scales);
          CHECK(exported->weight().offsets == expected.offsets);
        }
}

namespace {

// Weights of one grid with every kind of rounding case: random ones over
// and beyond the range, the float nearest each halfway point and its two
// neighbours, and (offset 0, range = levels, so that v = w) exact ties.
std::vector<float> awkward_weights(const BlockGrid& grid, double lowest, double highest, Rng& rng) {
  std::vector<float> w;
  const double step = grid.range / grid.levels;
  for (int i = 0; i < 100; ++i)
    w.push_back(static_cast<float>(
        grid.offset + step * rng.uniform(-2.0f, 2.0f) +
        step * rng.uniform(static_cast<float>(lowest), static_cast<float>(highest))));
  for (double k = lowest - 1.0; k <= highest; k += 1.0) {
    const auto half = static_cast<float>(grid.offset + (k + 0.5) * step);
    w.insert(w.end(), {std::nextafter(half, -1e30f), half, std::nextafter(half, 1e30f)});
  }
  return w;
}

}  // namespace

TEST_CASE("the rounding and LSQ loops of every ISA path agree bit for bit, at halfway points too") {
  Rng rng(17);
  std::vector<std::pair<Isa, FakeQuantKernels>> paths = {
      {Isa::generic, fake_quant_kernels_generic()}};
  if (supported(KernelFamily::gemm, Isa::avx2))
    paths.emplace_back(Isa::avx2, fake_quant_kernels_avx2());
  const std::vector<std::pair<Scheme, int>> formats = {
      {Scheme::asymmetric, 2}, {Scheme::asymmetric, 3}, {Scheme::asymmetric, 4},
      {Scheme::asymmetric, 8}, {Scheme::symmetric, 3},  {Scheme::ternary, ternary_bits}};
  for (const auto& format : formats)
    for (const bool exact_ties : {false, true}) {
      const Scheme scheme = format.first;
      const int bits = format.second;
      const double lowest = lowest_code(scheme, bits), highest = highest_code(scheme, bits);
      BlockGrid grid;
      grid.levels = highest;
      grid.range = exact_ties ? highest : rng.uniform(0.01f, 2.0f);
      grid.offset = exact_ties || scheme != Scheme::asymmetric ? 0.0 : rng.uniform(-1.0f, 0.0f);
      const std::vector<float> w = awkward_weights(grid, lowest, highest, rng);
      const std::size_t n = w.size();
      std::vector<float> table;
      for (double q = lowest; q <= highest; q += 1.0)
        table.push_back(static_cast<float>(q / grid.stored().scale + grid.offset));
      const BlockRounding block{grid.offset, grid.levels, grid.range, lowest, highest, table};
      std::vector<float> grad(4 * n);
      for (float& g : grad) g = rng.uniform(-1.0f, 1.0f);
      std::vector<std::int16_t> first_codes;
      std::vector<float> first_grad_w;
      for (const auto& path : paths) {
        const FakeQuantKernels& kernels = path.second;
        CAPTURE(isa_name(path.first));
        CAPTURE(to_string(scheme));
        CAPTURE(bits);
        std::vector<std::int16_t> codes(n);
        std::vector<std::uint8_t> inside(n);
        std::vector<float> w_q(n);
        kernels.round(block, w, codes.data(), inside.data(), w_q.data());
        for (std::size_t i = 0; i < n; ++i) {
          CAPTURE(w[i]);
          const std::int32_t expected = nearest_code(w[i], grid, scheme, bits);
          const double v = (double{w[i]} - grid.offset) * grid.levels / grid.range;
          CHECK(codes[i] == expected);
          CHECK(inside[i] == (std::round(v) == expected ? 1 : 0));
          CHECK(w_q[i] == table[static_cast<std::size_t>(expected - lowest)]);
        }
        // Four blocks (the weights, shifted) for the side-by-side sums.
        std::vector<float> grad_w(4 * n);
        std::vector<LsqRun> runs;
        for (std::size_t j = 0; j < 4; ++j)
          runs.push_back({w.data(), grad.data() + j * n, codes.data(), inside.data(),
                          grad_w.data() + j * n, grid.offset, grid.range / grid.levels});
        for (const std::size_t count : {std::size_t{4}, std::size_t{3}}) {
          std::array<double, 4> step_sums{}, offset_sums{};
          kernels.lsq_sums(std::span(runs.data(), count), n, true, step_sums.data(),
                           offset_sums.data());
          std::array<double, 4> step_only{}, unused_offsets{};
          kernels.lsq_sums(std::span(runs.data(), count), n, false, step_only.data(),
                           unused_offsets.data());
          CHECK(step_only == step_sums);
          for (std::size_t j = 0; j < count; ++j) {
            double step_sum = 0.0, offset_sum = 0.0;
            std::vector<float> unused(n);
            LsqRun plain = runs[j];
            plain.grad_w = unused.data();
            lsq_sum_scalar(plain, 0, n, step_sum, offset_sum);
            CHECK(step_sums[j] == step_sum);
            CHECK(offset_sums[j] == offset_sum);
          }
        }
        for (std::size_t i = 0; i < 4 * n; ++i)
          CHECK(grad_w[i] == (inside[i % n] ? grad[i] : 0.0f));
        if (first_codes.empty()) {
          first_codes = codes, first_grad_w = grad_w;
          continue;
        }
        CHECK(codes == first_codes);
        CHECK(grad_w == first_grad_w);
      }
    }
}

TEST_CASE("W_q uses zero points only when every block has one, however the rows are split") {
  // Rows 0..255 (within ±1) get zero-exact grids, whose zero points lie
  // inside the code range; rows 256..511 (within ±2) min-max grids, which have
  // none. So chunks of rows see different answers; the matrix has none.
  Rng rng(19);
  Dense dense(256, 512);  // enough weights for the passes to be split
  for (std::size_t r = 0; r < 512; ++r)
    for (std::size_t c = 0; c < 256; ++c)
      dense.weight()[r * 256 + c] = r < 256 ? rng.uniform(-1.0f, 1.0f) : rng.uniform(-2.0f, 2.0f);
  const GridChooser chooser = [](std::span<const float> block, std::span<const float>,
                                 Scheme scheme, int bits) {
    return *std::max_element(block.begin(), block.end()) < 1.0f
               ? zero_exact_grid(block, scheme, bits)
               : minmax_grid(block, scheme, bits);
  };
  const QuantFormat format{Scheme::asymmetric, Granularity::channel, 3, 64};
  const std::size_t saved_threads = num_threads();
  for (const std::size_t threads : {1, 2, 3}) {
    CAPTURE(threads);
    set_num_threads(threads);
    FakeQuantDense fake(dense, format, chooser);
    fake.forward(random_tensor({2, 256}, rng));
    const std::unique_ptr<QuantizedDense> exported = fake.to_quantized();
    CHECK(exported->weight().zero_points.empty());
    const Tensor stored = dequantize(exported->weight());
    const auto trained = fake.quantized_weight().values();
    CHECK(std::equal(trained.begin(), trained.end(), stored.values().begin()));
  }
  set_num_threads(saved_threads);
}

TEST_CASE("a QAT model's predict gives forward's bits and keeps nothing for a backward") {
  Rng rng(31);
  Sequential qat = make_qat_model(make_mlp(20, {10}, 4, 6),
                                  {{Scheme::asymmetric, Granularity::channel, 2, 64}, "mse", true});
  const Tensor x = random_tensor({9, 20}, rng);
  const Tensor expected = qat.forward(x);
  const Tensor got = qat.predict(x);
  CHECK(std::equal(got.values().begin(), got.values().end(), expected.values().begin()));
  // The first FakeQuantDense's inner Dense forgot x: backward refuses.
  const Tensor grad({9, 4}, std::vector<float>(36, 0.25f));
  CHECK_THROWS_AS(qat.backward(grad), Error);
  qat.forward(x);
  CHECK_NOTHROW(qat.backward(grad));
}
