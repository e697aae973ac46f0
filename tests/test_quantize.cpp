// Quantize/dequantize for every scheme, granularity and width, checked
// against a plain reference written here; bit packing; degenerate inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "quant/bit_packing.hpp"
#include "quant/calibration.hpp"
#include "quant/grid_search.hpp"
#include "quant/quantize.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

const Scheme schemes[] = {Scheme::asymmetric, Scheme::symmetric};
const Granularity granularities[] = {Granularity::tensor, Granularity::channel, Granularity::group};

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  return test::random_values(n, rng);
}

// The definition, one weight at a time: which block a weight is in, that
// block's range, and the rounded level. Returns the dequantized matrix and,
// per weight, half a quantization step of its block.
struct Reference {
  std::vector<double> values;
  std::vector<double> half_step;
};

Reference reference_quantize(const std::vector<float>& w, std::size_t rows, std::size_t cols,
                             const QuantFormat& f) {
  const auto block_of = [&](std::size_t r, std::size_t c) -> std::size_t {
    if (f.granularity == Granularity::tensor) return 0;
    if (f.granularity == Granularity::channel) return r;
    const std::size_t groups = (cols + f.group_size - 1) / f.group_size;
    return r * groups + c / f.group_size;
  };
  std::vector<double> lo(rows * cols + 1, INFINITY), hi(rows * cols + 1, -INFINITY);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t b = block_of(r, c);
      lo[b] = std::min<double>(lo[b], w[r * cols + c]);
      hi[b] = std::max<double>(hi[b], w[r * cols + c]);
    }
  Reference ref;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t b = block_of(r, c);
      const double x = w[r * cols + c];
      if (f.scheme == Scheme::asymmetric) {
        const double levels = std::pow(2.0, f.bits) - 1;
        const double range = hi[b] - lo[b];
        const double q = range == 0 ? 0 : std::round((x - lo[b]) * levels / range);
        ref.values.push_back(range == 0 ? lo[b] : q * range / levels + lo[b]);
        ref.half_step.push_back(range / levels / 2);
      } else {
        const double levels = std::pow(2.0, f.bits - 1) - 1;
        const double max_abs = std::max(std::fabs(lo[b]), std::fabs(hi[b]));
        const double q = max_abs == 0 ? 0 : std::round(x * levels / max_abs);
        ref.values.push_back(max_abs == 0 ? 0 : q * max_abs / levels);
        ref.half_step.push_back(max_abs / levels / 2);
      }
    }
  return ref;
}

}  // namespace

TEST_CASE("asymmetric per-tensor 8-bit reproduces the worked example [400, 500, 600]") {
  const std::vector<float> w = {400.0f, 500.0f, 600.0f};
  const QuantFormat format{Scheme::asymmetric, Granularity::tensor, 8, 64};
  const QuantizedMatrix q = quantize(w, 1, 3, format);
  CHECK(q.codes == std::vector<std::uint8_t>{0, 128, 255});
  CHECK(q.scales[0] == doctest::Approx(1.275));
  CHECK(q.offsets[0] == 400.0f);
  const Tensor back = dequantize(q);
  CHECK(back[0] == 400.0f);
  CHECK(back[1] == doctest::Approx(128 / 1.275 + 400).epsilon(1e-7));
  CHECK(back[1] == doctest::Approx(500.392157).epsilon(1e-7));
  CHECK(back[2] == 600.0f);
}

TEST_CASE("every scheme x granularity x bit width matches the reference within half a step") {
  const std::size_t rows = 7, cols = 100;  // 100 inputs: groups of 16/32/64 leave a short tail
  for (const Scheme scheme : schemes)
    for (const Granularity granularity : granularities)
      for (int bits = 2; bits <= 8; ++bits)
        for (const std::size_t group : {16u, 32u, 64u}) {
          if (granularity != Granularity::group && group != 16) continue;
          const QuantFormat f{scheme, granularity, bits, group};
          CAPTURE(to_string(f));
          // Rows of different magnitude so per-row scales differ.
          std::vector<float> w = random_values(rows * cols, 11u + static_cast<unsigned>(bits));
          for (std::size_t i = 0; i < w.size(); ++i) w[i] *= static_cast<float>(1 + i / cols);
          const QuantizedMatrix q = quantize(w, rows, cols, f);
          const Tensor back = dequantize(q);
          const Reference ref = reference_quantize(w, rows, cols, f);
          REQUIRE(back.size() == w.size());
          std::size_t mismatches = 0;
          for (std::size_t i = 0; i < w.size(); ++i) {
            const double slack = 1e-5 * (1 + std::fabs(w[i]));  // float scales
            if (std::fabs(back[i] - w[i]) > ref.half_step[i] + slack) ++mismatches;
            // Same level as the reference (ties aside, which random data avoids).
            if (std::fabs(back[i] - ref.values[i]) > slack) ++mismatches;
          }
          CHECK(mismatches == 0);
        }
}

TEST_CASE("group granularity stores one scale per group, the tail group shorter") {
  const std::vector<float> w = random_values(3 * 100, 5);
  const QuantizedMatrix q = quantize(w, 3, 100, {Scheme::symmetric, Granularity::group, 4, 32});
  CHECK(q.runs_per_row() == 4);  // 32 + 32 + 32 + 4
  CHECK(q.scales.size() == 12);
  CHECK(q.offsets.empty());
  CHECK(q.row_bytes() == 50);
  CHECK(q.codes.size() == 150);
  CHECK(q.storage_bytes() == 150 + 12 * 4);
  // The tail group's own range sets its scale: make it tiny and check the error is too.
  std::vector<float> v = w;
  for (std::size_t c = 96; c < 100; ++c) v[c] = 1e-3f * static_cast<float>(c - 96);
  const Tensor back =
      dequantize(quantize(v, 3, 100, {Scheme::symmetric, Granularity::group, 4, 32}));
  for (std::size_t c = 96; c < 100; ++c)
    CHECK(std::fabs(back[c] - v[c]) <= 3e-3 / 7 / 2 + 1e-9);  // max |w| 3e-3, 7 levels
}

TEST_CASE("constant tensors come back exactly") {
  for (const Scheme scheme : schemes)
    for (const Granularity granularity : granularities)
      for (int bits = 2; bits <= 8; ++bits) {
        const QuantFormat f{scheme, granularity, bits, 16};
        const float value = scheme == Scheme::asymmetric ? 0.3f : 0.0f;
        const std::vector<float> w(2 * 40, value);
        const QuantizedMatrix q = quantize(w, 2, 40, f);
        for (const float s : q.scales) CHECK(std::isfinite(s));
        const Tensor back = dequantize(q);
        for (std::size_t i = 0; i < w.size(); ++i) CHECK(back[i] == value);
      }
  // Symmetric with a nonzero constant is not degenerate (max |w| > 0): the
  // constant sits on the top level and comes back to float rounding.
  const std::vector<float> w(10, -0.3f);
  const Tensor back =
      dequantize(quantize(w, 1, 10, {Scheme::symmetric, Granularity::tensor, 8, 64}));
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(back[i] == doctest::Approx(-0.3f).epsilon(1e-7));
}

TEST_CASE("empty tensors quantize to empty matrices") {
  for (const Scheme scheme : schemes)
    for (const Granularity granularity : granularities) {
      const QuantFormat f{scheme, granularity, 4, 16};
      const QuantizedMatrix none = quantize(Tensor(), f);
      CHECK(none.rows == 0);
      CHECK(none.codes.empty());
      CHECK(dequantize(none).size() == 0);
      const QuantizedMatrix no_cols = quantize(std::span<const float>(), 3, 0, f);
      CHECK(no_cols.codes.empty());
      CHECK(dequantize(no_cols).shape() == Shape{3, 0});
      check_consistent(no_cols, "empty");
    }
}

TEST_CASE("NaN and infinite weights are refused, naming the tensor and index") {
  std::vector<float> w = random_values(12, 3);
  w[7] = std::numeric_limits<float>::quiet_NaN();
  const QuantFormat f{Scheme::asymmetric, Granularity::channel, 8, 64};
  CHECK_THROWS_WITH_AS(quantize(w, 3, 4, f, "layer 2 weight"),
                       doctest::Contains("layer 2 weight: weight [1, 3] is NaN"), Error);
  w[7] = 0.0f;
  w[2] = -std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(quantize(w, 3, 4, f, "fc1"), doctest::Contains("[0, 2] is infinite"), Error);
}

TEST_CASE("invalid formats are refused with the valid values listed") {
  const std::vector<float> w(32, 1.0f);
  CHECK_THROWS_WITH_AS(quantize(w, 1, 32, {Scheme::symmetric, Granularity::tensor, 9, 64}),
                       doctest::Contains("2, 3, 4, 5, 6, 7 or 8, found 9"), Error);
  CHECK_THROWS_WITH_AS(quantize(w, 1, 32, {Scheme::symmetric, Granularity::tensor, 1, 64}),
                       doctest::Contains("found 1"), Error);
  CHECK_THROWS_WITH_AS(quantize(w, 1, 32, {Scheme::symmetric, Granularity::group, 4, 48}),
                       doctest::Contains("power of two >= 16"), Error);
  CHECK_THROWS_AS(quantize(w, 1, 32, {Scheme::symmetric, Granularity::group, 4, 8}), Error);
  CHECK_NOTHROW(quantize(w, 1, 32, {Scheme::symmetric, Granularity::channel, 4, 48}));
  QuantConfig config;
  config.format.bits = 0;
  CHECK_THROWS_WITH_AS(validate(config.format), doctest::Contains("found 0"), Error);
}

TEST_CASE("scheme and granularity names parse, print and reject unknown names") {
  CHECK(parse_scheme("asymmetric") == Scheme::asymmetric);
  CHECK(parse_scheme("symmetric") == Scheme::symmetric);
  CHECK(parse_granularity("tensor") == Granularity::tensor);
  CHECK(parse_granularity("channel") == Granularity::channel);
  CHECK(parse_granularity("group") == Granularity::group);
  CHECK(to_string(Scheme::symmetric) == "symmetric");
  CHECK(to_string(Granularity::group) == "group");
  CHECK(to_string(QuantFormat{Scheme::asymmetric, Granularity::group, 4, 32}) ==
        "asymmetric/group-32/4-bit");
  CHECK_THROWS_WITH_AS(parse_scheme("affine"),
                       doctest::Contains("expected asymmetric, symmetric or ternary"), Error);
  CHECK_THROWS_WITH_AS(parse_granularity("row"),
                       doctest::Contains("expected tensor, channel or group"), Error);
}

TEST_CASE("bit packing round-trips every width on odd lengths") {
  Rng rng(9);
  for (int bits = 1; bits <= 8; ++bits)
    for (const bool is_signed : {false, true})
      for (const std::size_t n : {0u, 1u, 3u, 7u, 13u, 101u}) {
        CAPTURE(bits);
        CAPTURE(n);
        const std::int32_t lowest = is_signed ? -(1 << (bits - 1)) : 0;
        const auto span = static_cast<std::uint64_t>(1 << bits);
        std::vector<std::int32_t> codes(n);
        for (auto& c : codes) c = lowest + static_cast<std::int32_t>(rng.below(span));
        if (n > 1) codes[0] = lowest, codes[1] = lowest + static_cast<std::int32_t>(span) - 1;
        std::vector<std::uint8_t> packed(packed_row_bytes(n, bits));
        CHECK(packed.size() == (n * static_cast<std::size_t>(bits) + 7) / 8);
        pack_codes(codes, bits, is_signed, packed);
        std::vector<std::int32_t> back(n);
        unpack_codes(packed, bits, is_signed, std::span(back));
        CHECK(back == codes);
        std::vector<float> as_float(n);
        unpack_codes(packed, bits, is_signed, std::span(as_float));
        for (std::size_t i = 0; i < n; ++i) CHECK(as_float[i] == static_cast<float>(codes[i]));
      }
}

TEST_CASE("bit packing puts the first code in the low bits of the first byte") {
  std::vector<std::uint8_t> packed(2);
  pack_codes(std::vector<std::int32_t>{1, 2, 3}, 4, false, packed);
  CHECK(packed == std::vector<std::uint8_t>{0x21, 0x03});
  std::vector<std::uint8_t> three(2);
  pack_codes(std::vector<std::int32_t>{5, 6, 7}, 3, false, three);  // 101 110 111 -> stream bits
  CHECK(three == std::vector<std::uint8_t>{0b11110101, 0b1});
  std::vector<std::uint8_t> signed_byte(1);
  pack_codes(std::vector<std::int32_t>{-1}, 8, true, signed_byte);
  CHECK(signed_byte[0] == 0xFF);
  CHECK_THROWS_AS(pack_codes(std::vector<std::int32_t>{16}, 4, false, packed), Error);
}

TEST_CASE("check_consistent refuses bad scales, padding bits and out-of-range codes") {
  const std::vector<float> w = random_values(2 * 5, 1);
  const QuantizedMatrix good = quantize(w, 2, 5, {Scheme::symmetric, Granularity::channel, 3, 64});
  CHECK_NOTHROW(check_consistent(good, "good"));
  QuantizedMatrix bad = good;
  bad.scales[1] = 0.0f;
  CHECK_THROWS_WITH_AS(check_consistent(bad, "m"), doctest::Contains("scale 1"), Error);
  bad = good;
  bad.codes[1] |= 0x80;  // 5 codes x 3 bits = 15 bits: bit 15 is padding
  CHECK_THROWS_WITH_AS(check_consistent(bad, "m"), doctest::Contains("padding"), Error);
  bad = good;
  bad.codes[0] = static_cast<std::uint8_t>((bad.codes[0] & ~0x7u) | 0x4u);  // -4 in 3 bits
  CHECK_THROWS_WITH_AS(check_consistent(bad, "m"), doctest::Contains("below"), Error);
  bad = good;
  bad.codes.pop_back();
  CHECK_THROWS_AS(check_consistent(bad, "m"), Error);
  bad = good;
  bad.offsets.push_back(0.0f);
  CHECK_THROWS_AS(check_consistent(bad, "m"), Error);
}

TEST_CASE("the zero-exact grid puts 0 on a level, worked by hand, and leaves minmax as it was") {
  // [-0.1, 0.2, 0.5] at 2 bits (levels 3): the range [min(min, 0), max(max, 0)]
  // = [-0.1, 0.5] has step 0.2, and 0 lies half a step above -0.1, so the
  // zero point is z = round(0.5) = 1 and the levels are -0.2, 0, 0.2, 0.4.
  // The 0.5 clamps to 0.4, less than half a step off.
  const std::vector<float> block{-0.1f, 0.2f, 0.5f};
  const BlockGrid grid = zero_exact_grid(block, Scheme::asymmetric, 2);
  CHECK(grid.range == doctest::Approx(0.6));
  CHECK(grid.offset == doctest::Approx(-0.2));
  CHECK(grid.offset + 1 * grid.range / grid.levels == 0.0);  // code 1 is exactly 0 in double
  const QuantizedMatrix q = quantize(block, 1, 3, {Scheme::asymmetric, Granularity::channel, 2, 64},
                                     "w", ignoring_importance(zero_exact_grid));
  std::vector<std::int32_t> codes(3);
  unpack_codes(q.row_codes(0), 2, false, std::span(codes));
  // -0.1f is a hair below -0.1, so it is not a tie: it rounds down to -0.2.
  CHECK(codes == std::vector<std::int32_t>{0, 2, 3});
  // Stored with its integer zero point, code 1 comes back as exactly 0.0f;
  // the offset the kernels add is -z / s in float.
  REQUIRE(q.zero_points == std::vector<std::uint8_t>{1});
  CHECK(q.offsets[0] == static_cast<float>(-1 / double(q.scales[0])));
  const Tensor back = dequantize(q);
  CHECK(back[0] == static_cast<float>(-1 / double(q.scales[0])));
  CHECK(back[1] == static_cast<float>(1 / double(q.scales[0])));
  const QuantizedMatrix zeros = quantize(std::vector<float>{0.0f, -0.3f, 0.0f, 0.7f}, 1, 4,
                                         {Scheme::asymmetric, Granularity::channel, 3, 64}, "w",
                                         ignoring_importance(zero_exact_grid));
  CHECK(dequantize(zeros)[0] == 0.0f);
  CHECK(dequantize(zeros)[2] == 0.0f);
  // Min-max grids store no zero points (the seed's format, unchanged).
  CHECK(
      quantize(block, 1, 3, {Scheme::asymmetric, Granularity::channel, 2, 64}).zero_points.empty());
  // Stored zero points must be in range and agree with the offsets.
  QuantizedMatrix bad = q;
  bad.zero_points[0] = 4;
  CHECK_THROWS_WITH_AS(check_consistent(bad, "m"), doctest::Contains("above the top code 3"),
                       Error);
  bad = q;
  bad.offsets[0] += 1e-3f;
  CHECK_THROWS_WITH_AS(check_consistent(bad, "m"), doctest::Contains("is not -zero point / scale"),
                       Error);
  // Blocks entirely above 0 widen down to it; symmetric grids are min-max.
  const std::vector<float> positive{400.0f, 500.0f, 600.0f};
  CHECK(zero_exact_grid(positive, Scheme::asymmetric, 8).offset == 0.0);
  CHECK(zero_exact_grid(positive, Scheme::asymmetric, 8).range == 600.0);
  CHECK(zero_exact_grid(block, Scheme::symmetric, 3).range ==
        minmax_grid(block, Scheme::symmetric, 3).range);
}

TEST_CASE("the search grid clips a block to the range of least weighted error, worked by hand") {
  // Symmetric 2-bit levels are -r, 0, r. For [1, 0.5, 0.5, 0.5, 0.5] the
  // weights are a_i = σ² + w_i² with σ² = (1 + 4 · 0.25) / 5 = 0.4: 1.4 for
  // the 1 and 0.65 for each 0.5. The min-max r = 1 puts every 0.5 halfway
  // and rounds it up: error 4 · 0.65 · 0.5² = 0.65. With r in [0.5, 1] the
  // error is 1.4 (1 - r)² + 2.6 (0.5 - r)², least where its derivative
  // -2.8 (1 - r) + 5.2 (r - 0.5) is 0: r = 5.4 / 8 = 0.675, error
  // 1.4 · 0.105625 + 2.6 · 0.030625 = 0.2275.
  const std::vector<float> block{1.0f, 0.5f, 0.5f, 0.5f, 0.5f};
  const std::vector<float> a{1.4f, 0.65f, 0.65f, 0.65f, 0.65f};
  const BlockGrid minmax = minmax_grid(block, Scheme::symmetric, 2);
  CHECK(squared_error(block, minmax, Scheme::symmetric, 2, a) == doctest::Approx(0.65));
  const BlockGrid best = search_grid(block, {}, Scheme::symmetric, 2);
  CHECK(best.range == doctest::Approx(0.675).epsilon(1e-7));
  CHECK(best.offset == 0.0);
  CHECK(squared_error(block, best, Scheme::symmetric, 2, a) ==
        doctest::Approx(0.2275).epsilon(1e-6));
  // With data, each weight's a_i is also multiplied by its input's E[x²]
  // (and the w² term enters as sqrt): an input that is never active costs
  // nothing, so the grid fits the other four weights, all 0.5, exactly.
  const std::vector<float> importance{0.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  const BlockGrid fitted = search_grid(block, importance, Scheme::symmetric, 2);
  CHECK(fitted.range == doctest::Approx(0.5));
}

TEST_CASE(
    "the search grid is never worse than the zero-exact grid, at every bit width and scheme") {
  Rng rng(31);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (int bits = 2; bits <= 8; ++bits)
      for (int trial = 0; trial < 20; ++trial) {
        // Bell-shaped rows with an outlier or two, as trained weights are.
        std::vector<float> block(64);
        for (float& w : block)
          w = (rng.uniform(-1, 1) + rng.uniform(-1, 1) + rng.uniform(-1, 1)) / 3;
        block[rng.below(64)] = rng.uniform(-3, 3);
        double sigma2 = 0.0;
        for (const float w : block) sigma2 += double(w) * w / 64;
        std::vector<float> a;
        for (const float w : block) a.push_back(float(sigma2 + double(w) * w));
        const double full =
            squared_error(block, zero_exact_grid(block, scheme, bits), scheme, bits, a);
        const BlockGrid grid = search_grid(block, {}, scheme, bits);
        CAPTURE(bits);
        CHECK(squared_error(block, grid, scheme, bits, a) <= full * (1 + 1e-6));
        // 0 is still a level: the level of the code nearest 0 is exactly 0 in double.
        const double zero = -grid.offset * grid.levels / grid.range;
        CHECK(grid.offset + std::round(zero) * grid.range / grid.levels == 0.0);
      }
  // A constant block stays exact.
  const std::vector<float> constant(8, 0.25f);
  CHECK(squared_error(constant, search_grid(constant, {}, Scheme::asymmetric, 3),
                      Scheme::asymmetric, 3) == 0.0);
}

TEST_CASE("quantize with the search grid stores the grid it chose, and dequantizes to it") {
  Rng rng(7);
  const Tensor w = test::random_tensor({6, 40}, rng);
  const QuantFormat format{Scheme::symmetric, Granularity::channel, 2, 64};
  const QuantizedMatrix q = quantize(w, format, "w", search_grid);
  const Tensor back = dequantize(q);
  double error_mse = 0.0, error_minmax = 0.0;
  const Tensor back_minmax = dequantize(quantize(w, format, "w"));
  for (std::size_t i = 0; i < w.size(); ++i) {
    error_mse += std::pow(double(w[i]) - back[i], 2);
    error_minmax += std::pow(double(w[i]) - back_minmax[i], 2);
  }
  CHECK(error_mse < error_minmax);
  for (std::size_t r = 0; r < 6; ++r) {
    const BlockGrid grid = search_grid(w.row(r), {}, Scheme::symmetric, 2);
    CHECK(q.scales[r] == static_cast<float>(grid.levels / grid.range));
  }
}

TEST_CASE("calibration_indices draws distinct rows per seed, and calibration_rows copies them") {
  const std::vector<std::size_t> a = calibration_indices(50, 20, 7);
  CHECK(a.size() == 20);
  CHECK(a == calibration_indices(50, 20, 7));
  CHECK(a != calibration_indices(50, 20, 8));
  std::vector<std::size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  CHECK(sorted.back() < 50);
  // The first rows drawn do not depend on how many are drawn.
  const std::vector<std::size_t> fewer = calibration_indices(50, 5, 7);
  CHECK(std::equal(fewer.begin(), fewer.end(), a.begin()));
  Tensor inputs(Shape{50, 3});
  for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = static_cast<float>(i);
  const Tensor rows = calibration_rows(inputs, 20, 7);
  REQUIRE(rows.shape() == Shape{20, 3});
  for (std::size_t i = 0; i < 20; ++i)
    for (std::size_t c = 0; c < 3; ++c) CHECK(rows(i, c) == inputs(a[i], c));
  CHECK_THROWS_AS(calibration_indices(50, 0, 7), Error);
  CHECK_THROWS_AS(calibration_indices(50, 51, 7), Error);
}
