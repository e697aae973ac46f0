// lowbit_int_gemm (7-bit activation rows × packed 2/3/4-bit codes, a step
// and an offset per group -> f32) on every integer path this CPU can run,
// against the double reference: ragged shapes (row tiles, 16-wide panels and
// k-groups cut short), groups and whole rows, the extreme codes, and the
// packing's refusals.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/lowbit_int_gemm.hpp"
#include "core/random.hpp"
#include "isa_paths.hpp"

using namespace tinyq;

namespace {

struct Problem {
  std::size_t m, n, k, group, groups, lda;
  int bits;
  std::vector<std::uint8_t> a;  // [m, lda], zeros past k
  std::vector<float> row_steps;
  std::vector<std::int32_t> zero_points, group_sums;
  std::vector<std::uint8_t> codes;  // [n, k]
  std::vector<float> steps, offsets, bias;

  U7Rows rows() const {
    return {m, a.data(), lda, row_steps.data(), zero_points.data(), group_sums.data()};
  }
};

// A quarter of the activations and codes at their extremes (0 and 127, 0
// and 2^bits - 1).
Problem random_problem(std::size_t m, std::size_t n, std::size_t k, std::size_t group, int bits,
                       Rng& rng) {
  Problem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.group = std::min(group, k);
  p.groups = (k + p.group - 1) / p.group;
  p.lda = (k + 7) / 8 * 8 + 8;
  p.bits = bits;
  p.a.assign(m * p.lda, 0);
  const auto top = static_cast<std::uint32_t>((1 << bits) - 1);
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t i = 0; i < k; ++i) {
      const std::uint64_t pick = rng.below(8);
      p.a[r * p.lda + i] = static_cast<std::uint8_t>(pick == 0   ? 0
                                                     : pick == 1 ? 127
                                                                 : rng.below(128));
    }
    p.row_steps.push_back(rng.uniform(0.001f, 0.01f));
    p.zero_points.push_back(static_cast<std::int32_t>(rng.below(128)));
    for (std::size_t g = 0; g < p.groups; ++g) {
      std::int32_t sum = 0;
      for (std::size_t i = g * p.group; i < std::min(k, (g + 1) * p.group); ++i)
        sum += p.a[r * p.lda + i];
      p.group_sums.push_back(sum);
    }
  }
  for (std::size_t i = 0; i < n * k; ++i) {
    const std::uint64_t pick = rng.below(8);
    p.codes.push_back(static_cast<std::uint8_t>(pick == 0   ? 0
                                                : pick == 1 ? top
                                                            : rng.below(top + 1)));
  }
  for (std::size_t i = 0; i < n * p.groups; ++i) {
    p.steps.push_back(rng.uniform(0.001f, 0.02f));
    p.offsets.push_back(rng.uniform(-0.1f, 0.1f));
  }
  for (std::size_t j = 0; j < n; ++j) p.bias.push_back(rng.uniform(-1.0f, 1.0f));
  return p;
}

// Max |C - reference| over the outputs, relative to the largest term any
// output sums (what float rounding is proportional to).
void check_against_reference(const Problem& p, bool with_bias) {
  const LowBitIntPanels packed = pack_lowbit_int_panels(p.n, p.k, p.bits, p.group, p.codes.data(),
                                                        p.k, p.steps.data(), p.offsets.data());
  const float* bias = with_bias ? p.bias.data() : nullptr;
  std::vector<double> expected(p.m * p.n);
  lowbit_int_gemm_reference(p.rows(), p.n, p.k, p.group, p.codes.data(), p.k, p.steps.data(),
                            p.offsets.data(), bias, expected.data(), p.n);
  // Each product is at most 0.01 · 127 · (15 · 0.02 + 0.1) in size.
  const double tolerance = 1e-5 * double(p.k) * 0.01 * 127 * 0.4 + 1e-5;
  for (Isa isa : test::paths_to_test(KernelFamily::int8_gemm)) {
    CAPTURE(std::string(isa_name(isa)));
    const std::size_t ldc = p.n + 5;
    std::vector<float> c(p.m * ldc, -7.0f);
    lowbit_int_gemm(isa, p.rows(), packed, bias, c.data(), ldc);
    double worst = 0.0;
    bool untouched = true;
    for (std::size_t r = 0; r < p.m; ++r) {
      for (std::size_t j = 0; j < p.n; ++j)
        worst = std::max(worst, std::abs(double{c[r * ldc + j]} - expected[r * p.n + j]));
      for (std::size_t j = p.n; j < ldc; ++j) untouched = untouched && c[r * ldc + j] == -7.0f;
    }
    CHECK(worst <= tolerance);
    CHECK(untouched);
  }
}

}  // namespace

TEST_CASE("lowbit_int_gemm matches the double reference on ragged shapes at 2, 3 and 4 bits") {
  Rng rng(53);
  const std::size_t shapes[][4] = {{1, 1, 8, 8},      {3, 17, 40, 8},   {5, 33, 100, 16},
                                   {9, 16, 784, 64},  {4, 10, 128, 32}, {7, 70, 200, 200},
                                   {2, 20, 37, 1000}, {6, 31, 96, 24}};
  for (const int bits : {2, 3, 4})
    for (const auto& s : shapes) {
      CAPTURE(bits);
      CAPTURE(s[0]);
      CAPTURE(s[1]);
      CAPTURE(s[2]);
      CAPTURE(s[3]);
      check_against_reference(random_problem(s[0], s[1], s[2], s[3], bits, rng), bits != 3);
    }
}

TEST_CASE("rows with zero k-groups: a row alone gives the bits of its block, rows or tiles") {
  // A row, or a tile of rows, whose four activations of a k-group are all
  // zero skips it; the group's integer sum is the same and so are the float
  // steps after it. Block 1: every row zero in different places (rows walk
  // their own lists). Block 2: dense rows and one row zero in a third of
  // its groups (tiles walk their common lists).
  // Each row alone (always listed) must give the block's bits, and both
  // blocks the reference's values.
  Rng rng(67);
  for (const int bits : {2, 3, 4})
    for (const std::size_t k : {200u, 784u})
      for (const bool mostly_zero : {true, false}) {
        CAPTURE(bits);
        CAPTURE(k);
        CAPTURE(mostly_zero);
        Problem p = random_problem(7, 40, k, 40, bits, rng);
        for (std::size_t r = 0; r < p.m; ++r)
          for (std::size_t g = 0; g * 4 < k; ++g) {
            const bool zero = mostly_zero ? rng.below(10) < 8 : r == 3 && rng.below(3) == 0;
            if (!zero) continue;
            for (std::size_t i = 4 * g; i < std::min(k, 4 * g + 4); ++i) {
              p.group_sums[r * p.groups + i / p.group] -= p.a[r * p.lda + i];
              p.a[r * p.lda + i] = 0;
            }
          }
        check_against_reference(p, true);
        const LowBitIntPanels packed = pack_lowbit_int_panels(
            p.n, p.k, p.bits, p.group, p.codes.data(), p.k, p.steps.data(), p.offsets.data());
        for (Isa isa : test::paths_to_test(KernelFamily::int8_gemm)) {
          CAPTURE(std::string(isa_name(isa)));
          std::vector<float> block(p.m * p.n), alone(p.n);
          lowbit_int_gemm(isa, p.rows(), packed, p.bias.data(), block.data(), p.n);
          std::size_t rows_differing = 0;
          for (std::size_t r = 0; r < p.m; ++r) {
            const U7Rows one{1,
                             p.a.data() + r * p.lda,
                             p.lda,
                             p.row_steps.data() + r,
                             p.zero_points.data() + r,
                             p.group_sums.data() + r * p.groups};
            lowbit_int_gemm(isa, one, packed, p.bias.data(), alone.data(), p.n);
            rows_differing += !std::equal(alone.begin(), alone.end(), block.begin() + r * p.n);
          }
          CHECK(rows_differing == 0);
        }
      }
}

TEST_CASE("lowbit_int_gemm is exact in its integer part: all-127 activations times top codes") {
  // With zero points 0, offsets 0 and power-of-two steps every float step
  // is exact, so C is Σ 127 · 15 · step · d to the last bit.
  Rng rng(59);
  Problem p = random_problem(5, 18, 512, 64, 4, rng);
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{0});
  for (std::size_t r = 0; r < p.m; ++r) {
    std::fill(p.a.begin() + static_cast<std::ptrdiff_t>(r * p.lda),
              p.a.begin() + static_cast<std::ptrdiff_t>(r * p.lda + p.k), std::uint8_t{127});
    p.row_steps[r] = 0.0078125f;
    p.zero_points[r] = 0;
    for (std::size_t g = 0; g < p.groups; ++g) p.group_sums[r * p.groups + g] = 127 * 64;
  }
  std::fill(p.codes.begin(), p.codes.end(), std::uint8_t{15});
  std::fill(p.steps.begin(), p.steps.end(), 0.25f);
  std::fill(p.offsets.begin(), p.offsets.end(), 0.0f);
  const LowBitIntPanels packed = pack_lowbit_int_panels(p.n, p.k, p.bits, p.group, p.codes.data(),
                                                        p.k, p.steps.data(), p.offsets.data());
  for (Isa isa : test::paths_to_test(KernelFamily::int8_gemm)) {
    CAPTURE(std::string(isa_name(isa)));
    std::vector<float> c(p.m * p.n);
    lowbit_int_gemm(isa, p.rows(), packed, nullptr, c.data(), p.n);
    for (const float v : c) CHECK(v == 127.0f * 15.0f * 0.25f * 0.0078125f * 512.0f);
  }
}

TEST_CASE("the avx2 and avx512 paths give the same bits") {
  // Both take the same float steps in the same order, with the same fused
  // multiply-adds; only the integer sums are formed differently (vpmaddubsw
  // pairs against vpdpbusd quads), and they are exact. Tiles of 1 to 13 rows
  // (two 6-row tiles and a ragged one), half the k-groups zero in some rows.
  if (!supported(KernelFamily::int8_gemm, Isa::avx2) ||
      !supported(KernelFamily::int8_gemm, Isa::avx512)) {
    MESSAGE("avx2 against avx512 NOT TESTED: this CPU cannot run both");
    return;
  }
  Rng rng(71);
  for (const int bits : {2, 3, 4})
    for (std::size_t trial = 0; trial < 12; ++trial) {
      CAPTURE(bits);
      CAPTURE(trial);
      const std::size_t m = 1 + trial, n = 1 + rng.below(60), k = 8 * (1 + rng.below(100));
      Problem p = random_problem(m, n, k, trial % 2 == 0 ? 64 : k, bits, rng);
      for (std::size_t r = 0; r < m; ++r)
        for (std::size_t g = 0; g * 4 < k; ++g)
          if (r % 2 == 1 && rng.below(2) == 0)
            for (std::size_t i = 4 * g; i < 4 * g + 4; ++i) {
              p.group_sums[r * p.groups + i / p.group] -= p.a[r * p.lda + i];
              p.a[r * p.lda + i] = 0;
            }
      const LowBitIntPanels packed = pack_lowbit_int_panels(
          p.n, p.k, p.bits, p.group, p.codes.data(), p.k, p.steps.data(), p.offsets.data());
      std::vector<float> avx2(m * n), avx512(m * n);
      lowbit_int_gemm(Isa::avx2, p.rows(), packed, p.bias.data(), avx2.data(), n);
      lowbit_int_gemm(Isa::avx512, p.rows(), packed, p.bias.data(), avx512.data(), n);
      CHECK(avx2 == avx512);
    }
}

TEST_CASE("pack_lowbit_int_panels refuses codes, bits and groups it cannot pack") {
  const std::vector<std::uint8_t> codes(4 * 16, 3);
  const std::vector<float> steps(16, 1.0f), offsets(16, 0.0f);
  CHECK_THROWS_AS(
      pack_lowbit_int_panels(4, 16, 5, 16, codes.data(), 16, steps.data(), offsets.data()), Error);
  CHECK_THROWS_AS(
      pack_lowbit_int_panels(4, 16, 2, 4, codes.data(), 16, steps.data(), offsets.data()),
      Error);  // 2-bit groups must be whole 8-input words
  CHECK_THROWS_AS(
      pack_lowbit_int_panels(4, 16, 4, 6, codes.data(), 16, steps.data(), offsets.data()), Error);
  const std::vector<std::uint8_t> wide(4 * 16, 4);  // 4 does not fit 2 bits
  CHECK_THROWS_AS(
      pack_lowbit_int_panels(4, 16, 2, 16, wide.data(), 16, steps.data(), offsets.data()), Error);
  CHECK_NOTHROW(
      pack_lowbit_int_panels(4, 16, 2, 8, codes.data(), 16, steps.data(), offsets.data()));
}

TEST_CASE("lowbit_int_gemm_panels computes its panels' outputs as the whole call does") {
  Rng rng(61);
  const Problem p = random_problem(4, 70, 200, 40, 4, rng);
  const LowBitIntPanels packed = pack_lowbit_int_panels(p.n, p.k, p.bits, p.group, p.codes.data(),
                                                        p.k, p.steps.data(), p.offsets.data());
  for (Isa isa : test::paths_to_test(KernelFamily::int8_gemm)) {
    CAPTURE(std::string(isa_name(isa)));
    std::vector<float> whole(p.m * p.n);
    lowbit_int_gemm(isa, p.rows(), packed, p.bias.data(), whole.data(), p.n);
    std::vector<float> split(p.m * p.n, -7.0f);
    lowbit_int_gemm_panels(isa, p.rows(), packed, 1, 3, p.bias.data(), split.data(), p.n);
    bool same = true;
    for (std::size_t r = 0; r < p.m; ++r)
      for (std::size_t j = 0; j < p.n; ++j) {
        const bool inside = j >= 16 && j < 48;
        same = same && split[r * p.n + j] == (inside ? whole[r * p.n + j] : -7.0f);
      }
    CHECK(same);
    lowbit_int_gemm_panels(isa, p.rows(), packed, 0, 1, p.bias.data(), split.data(), p.n);
    lowbit_int_gemm_panels(isa, p.rows(), packed, 3, 5, p.bias.data(), split.data(), p.n);
    CHECK(split == whole);
    CHECK_THROWS_AS(lowbit_int_gemm_panels(isa, p.rows(), packed, 2, 6, nullptr, split.data(), p.n),
                    Error);
  }
}
