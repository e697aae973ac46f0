// Every number the README's tutorial works out by hand, computed here by the
// code it describes (or, for PyTorch's convention, by the formula the README
// gives), so that a change in the code or a slip in the text shows up.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/kernels/isa.hpp"
#include "core/random.hpp"
#include "core/tensor.hpp"
#include "data/augment.hpp"
#include "data/idx.hpp"
#include "quant/dynamic_int8.hpp"
#include "quant/quantize.hpp"
#include "quant/signed_weights.hpp"

using namespace tinyq;

namespace {

struct Quantized {
  std::vector<std::int32_t> codes;
  BlockScale block;
  std::vector<float> back;  // dequantized
};

Quantized asymmetric(const std::vector<float>& w, int bits) {
  Quantized q;
  const BlockGrid grid = minmax_grid(w, Scheme::asymmetric, bits);
  for (const float v : w) q.codes.push_back(nearest_code(v, grid, Scheme::asymmetric, bits));
  q.block = grid.stored();
  q.back.resize(w.size());
  dequantize_block_asymmetric(q.codes, q.block, q.back);
  return q;
}

// Mean square of w' - w, and the SQNR 10·log10(Σw² / Σ(w - w')²).
double mean_square_error(const std::vector<float>& w, const std::vector<float>& back) {
  double sum = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) sum += std::pow(double(back[i]) - w[i], 2);
  return sum / double(w.size());
}
double sqnr_db(const std::vector<float>& w, const std::vector<float>& back) {
  double signal = 0.0;
  for (const float v : w) signal += double(v) * v;
  return 10.0 * std::log10(signal / (mean_square_error(w, back) * double(w.size())));
}

// Evenly spread values over [-1, 1], the case the 6 dB rule assumes.
std::vector<float> ramp(std::size_t n) {
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = float(-1.0 + 2.0 * double(i) / double(n - 1));
  return w;
}

}  // namespace

TEST_CASE("section 3: the worked example divides by the range last, so 500 is exactly halfway") {
  // The order the README warns against: 1.275 is not exact in binary.
  CHECK(100.0 * (255.0 / 200.0) < 127.5);
  CHECK(std::round(100.0 * (255.0 / 200.0)) == 127.0);
  // The order the code uses.
  CHECK(100.0 * 255.0 / 200.0 == 127.5);

  const Quantized q = asymmetric({400.0f, 500.0f, 600.0f}, 8);
  CHECK(q.codes == std::vector<std::int32_t>{0, 128, 255});
  CHECK(q.block.scale == doctest::Approx(1.275));
  CHECK(q.block.offset == 400.0f);
  CHECK(q.back[1] == doctest::Approx(500.392).epsilon(1e-6));
  CHECK(q.back[1] - 500.0f == doctest::Approx(0.5 / 1.275).epsilon(1e-3));  // half a step
}

TEST_CASE("section 3: the 2-bit number line over [-0.3, 0.9]") {
  // The two ends fix the grid; the others sit just inside each rounding interval.
  const std::vector<float> w = {-0.3f, 0.9f, -0.11f, -0.09f, 0.29f, 0.31f, 0.69f, 0.71f, 0.0f};
  const Quantized q = asymmetric(w, 2);
  CHECK(1.0 / q.block.scale == doctest::Approx(0.4));  // the step Δ = 1.2 / 3
  CHECK(q.block.scale == doctest::Approx(2.5));        // levels per unit
  CHECK(q.codes == std::vector<std::int32_t>{0, 3, 0, 1, 1, 2, 2, 3, 1});
  const double levels[] = {-0.3, 0.1, 0.5, 0.9};
  for (std::size_t i = 0; i < w.size(); ++i) {
    CHECK(q.back[i] == doctest::Approx(levels[q.codes[i]]).epsilon(1e-6));
    CHECK(std::fabs(q.back[i] - w[i]) <= 0.2 + 1e-6);  // at most Δ/2
  }
  // Zero is not on this grid: it comes back as 0.1.
  CHECK(q.back.back() == doctest::Approx(0.1).epsilon(1e-5));
}

TEST_CASE("section 3: PyTorch's convention puts zero on the grid, at z = 1") {
  // w' = (q - z)·S with S the step and z = round(-min / S), q clamped to 0..3.
  const double step = 0.4, min = -0.3;
  const int zero_point = static_cast<int>(std::round(-min / step));
  CHECK(zero_point == 1);
  const auto affine = [&](double w) {
    const int q = std::clamp(static_cast<int>(std::round(w / step)) + zero_point, 0, 3);
    return (q - zero_point) * step;
  };
  CHECK(affine(0.0) == 0.0);
  CHECK(affine(0.9) == doctest::Approx(0.8));  // clamped to the top level
  CHECK(affine(-0.3) == doctest::Approx(-0.4));
  for (int q = 0; q < 4; ++q)
    CHECK((q - zero_point) * step == doctest::Approx(std::vector<double>{-0.4, 0, 0.4, 0.8}[q]));
}

TEST_CASE("section 4: evenly spread values have rounding noise step²/12, 6.02 dB less per bit") {
  const std::vector<float> w = ramp(200001);
  double previous = 0.0;
  for (int bits = 2; bits <= 8; ++bits) {
    const Quantized q = asymmetric(w, bits);
    const double step = 2.0 / ((1 << bits) - 1);
    CHECK(mean_square_error(w, q.back) == doctest::Approx(step * step / 12.0).epsilon(0.01));
    const double sqnr = sqnr_db(w, q.back);
    if (bits == 3) CHECK(sqnr - previous == doctest::Approx(20.0 * std::log10(7.0 / 3.0)));
    if (bits == 8) CHECK(sqnr - previous == doctest::Approx(10.0 * std::log10(4.0)).epsilon(0.01));
    previous = sqnr;
  }
  CHECK(20.0 * std::log10(7.0 / 3.0) == doctest::Approx(7.4).epsilon(0.01));
  CHECK(10.0 * std::log10(4.0) == doctest::Approx(6.02).epsilon(0.001));
}

TEST_CASE("section 5: the dynamic int8 identity is exact for the quantized input, per run") {
  // Two outputs, 32 inputs, groups of 16: two runs per row, asymmetric 8-bit.
  const std::size_t rows = 2, cols = 32;
  Rng rng(5);
  std::vector<float> w(rows * cols), x(cols);
  for (float& v : w) v = rng.uniform(-0.5f, 0.7f);
  for (float& v : x) v = rng.uniform(-1.0f, 2.0f);  // negative values: z != 0
  const QuantizedMatrix q =
      quantize(w, rows, cols, {Scheme::asymmetric, Granularity::group, 8, 16}, "W");
  const SignedWeights s = to_signed_weights(q);
  REQUIRE(s.runs == 2);

  std::vector<std::uint8_t> a(cols);
  std::vector<std::int32_t> run_sums(s.runs);
  const RowQuantization row = quantize_row(Isa::generic, x, a.data(), s.run_length, run_sums);
  CHECK(row.zero_point > 0);

  const Tensor dequantized = dequantize(q);
  for (std::size_t j = 0; j < rows; ++j)
    for (std::size_t g = 0; g < s.runs; ++g) {
      const float t = s.steps[g * rows + j], o = s.offsets[g * rows + j];
      const double d = row.step;
      const std::int64_t z = row.zero_point;
      const auto n = static_cast<std::int64_t>(s.run_end(g) - s.run_begin(g));
      double direct = 0.0;  // Σ x̂_i · w_ji with x̂ = (a - z)·d, w = c·t + o
      std::int64_t sum_ac = 0, sum_a = 0, sum_c = 0;
      for (std::size_t i = s.run_begin(g); i < s.run_end(g); ++i) {
        const std::int64_t c = s.codes[j * cols + i];
        const double w_ji = double(c) * t + o;
        // c·t + o is the stored weight: the q − 128 rewrite changes nothing.
        CHECK(w_ji == doctest::Approx(dequantized.row(j)[i]).epsilon(1e-5));
        direct += (double(a[i]) - double(z)) * d * w_ji;
        sum_ac += a[i] * c;
        sum_a += a[i];
        sum_c += c;
      }
      CHECK(s.code_sums[g * rows + j] == sum_c);
      CHECK(run_sums[g] == sum_a);
      const double identity =
          d * (double(t) * double(sum_ac - z * sum_c) + double(o) * double(sum_a - z * n));
      CHECK(identity == doctest::Approx(direct).epsilon(1e-9));
    }
}

TEST_CASE("train_mnist: 1 in 9 picked images draws no move, so about 22% move") {
  const std::size_t side = 4, batch = 9000;
  Tensor images({batch, side * side});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 13) + 1.0f;  // no zeros
  const Tensor original = images;
  RandomShift shift(1, 11, 0.25f);
  shift.apply(images, side, side);
  std::size_t moved = 0;
  for (std::size_t b = 0; b < batch; ++b)
    moved += !std::equal(images.row(b).begin(), images.row(b).end(), original.row(b).begin());
  // Binomial: 9000 · 0.2222 = 2000 expected, standard deviation 39.
  CHECK(double(moved) / batch == doctest::Approx(0.25 * 8.0 / 9.0).epsilon(0.08));
  CHECK(0.25 * 8.0 / 9.0 == doctest::Approx(0.22).epsilon(0.01));
}

TEST_CASE("section 1: an IDX header is 4 + 4·rank bytes, 20 at most") {
  const std::vector<std::uint8_t> labels = {0, 0, 0x08, 1, 0, 0, 0x27, 0x10};
  const std::vector<std::uint8_t> images = {0, 0, 0x08, 3,  0, 0, 0x27, 0x10,
                                            0, 0, 0,    28, 0, 0, 0,    28};
  CHECK(parse_idx_header(labels, "labels").header_size == 8);
  CHECK(parse_idx_header(images, "images").header_size == 16);
  CHECK(4 + 4 * IdxHeader::max_rank == 20);
}
