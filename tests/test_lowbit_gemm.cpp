// widen_gemm_lowbit (f32 × 2/3/4-bit codes with a step and an offset per
// group -> f32) on every path this CPU can run, against the plain double
// reference: odd shapes (tiles and panels cut short, odd k at 2 bits, one
// row and many), group and whole-row scales, with and without offsets.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/widen_gemm_lowbit.hpp"
#include "core/random.hpp"
#include "isa_paths.hpp"

using namespace tinyq;

namespace {

struct Problem {
  std::size_t m, n, k, group, groups;
  int bits;
  std::int32_t code_shift;
  std::vector<float> x;  // [m, k + 3]
  std::vector<std::uint8_t> codes;
  std::vector<float> steps, offsets, bias;
};

Problem random_problem(std::size_t m, std::size_t n, std::size_t k, std::size_t group, int bits,
                       bool offsets, Rng& rng) {
  // Shifts as quant/weight_only uses them: 0 (asymmetric), 2^(bits-1) (symmetric).
  const std::int32_t shift = offsets ? 0 : std::int32_t{1} << (bits - 1);
  Problem p{m, n, k, group, (k + group - 1) / group, bits, shift, {}, {}, {}, {}, {}};
  for (std::size_t i = 0; i < m * (k + 3); ++i) p.x.push_back(rng.uniform(-1.0f, 1.0f));
  for (std::size_t i = 0; i < n * k; ++i)
    p.codes.push_back(static_cast<std::uint8_t>(rng.below(std::uint64_t{1} << bits)));
  for (std::size_t i = 0; i < n * p.groups; ++i) {
    p.steps.push_back(rng.uniform(0.0001f, 0.002f));
    p.offsets.push_back(offsets ? rng.uniform(-1.0f, 1.0f) : 0.0f);
  }
  for (std::size_t j = 0; j < n; ++j) p.bias.push_back(rng.uniform(-1.0f, 1.0f));
  return p;
}

// Checks every element against the reference to within float rounding of
// the sum's size, and that columns past n are left alone.
void check(Isa isa, const Problem& p) {
  const LowBitPanels packed = pack_lowbit_panels(p.n, p.k, p.bits, p.group, p.codes.data(), p.k,
                                                 p.code_shift, p.steps.data(), p.offsets.data());
  const std::size_t ldx = p.k + 3, ldc = p.n + 2;
  std::vector<float> got(p.m * ldc, 7.0f), want(p.m * ldc, 7.0f);
  lowbit_gemm(isa, p.m, p.x.data(), ldx, packed, p.bias.data(), got.data(), ldc);
  lowbit_gemm_reference(p.m, p.x.data(), ldx, p.n, p.k, p.group, p.codes.data(), p.code_shift,
                        p.steps.data(), p.offsets.data(), p.bias.data(), want.data(), ldc);
  // Sums of x · c reach 15 · k before scaling by at most 0.002; the
  // rescaled terms are then at most about 1 (as are the offset term and bias).
  const double tolerance = 2e-6 * double(p.k + 8);
  std::size_t bad = 0, padding_changed = 0;
  for (std::size_t r = 0; r < p.m; ++r) {
    for (std::size_t j = 0; j < p.n; ++j)
      if (!(std::fabs(double(got[r * ldc + j]) - double(want[r * ldc + j])) <= tolerance)) ++bad;
    padding_changed += got[r * ldc + p.n] != 7.0f || got[r * ldc + p.n + 1] != 7.0f;
  }
  CHECK(bad == 0);
  CHECK(padding_changed == 0);
}

}  // namespace

TEST_CASE("lowbit_gemm matches the reference on odd shapes, bit widths and groups, every path") {
  Rng rng(5);
  struct Shape {
    std::size_t m, n, k;
  };
  const Shape shapes[] = {{1, 1, 1},   {1, 9, 33},    {2, 17, 64},  {3, 31, 47}, {5, 8, 128},
                          {7, 40, 96}, {1, 100, 784}, {9, 65, 200}, {4, 16, 17}, {13, 24, 50}};
  for (const Isa isa : test::paths_to_test(KernelFamily::widen_gemm)) {
    CAPTURE(std::string(isa_name(isa)));
    for (const int bits : {2, 3, 4})
      for (const bool offsets : {false, true})
        for (const Shape& s : shapes)
          for (const std::size_t group : {s.k, std::size_t{16}, std::size_t{32}}) {
            CAPTURE(bits);
            CAPTURE(offsets);
            CAPTURE(s.m);
            CAPTURE(s.n);
            CAPTURE(s.k);
            CAPTURE(group);
            check(isa, random_problem(s.m, s.n, s.k, group, bits, offsets, rng));
          }
  }
}

TEST_CASE("lowbit_gemm gives the same bits for a row alone as inside a batch") {
  // A row alone runs the in-register tiles; more rows than one tile run,
  // where the path has them, the wide tiles on codes widened beforehand.
  Rng rng(9);
  for (const Isa isa : test::paths_to_test(KernelFamily::widen_gemm))
    for (const int bits : {2, 3, 4})
      for (const bool offsets : {false, true})
        for (const std::size_t m : {6, 7, 13, 20})
          for (const std::size_t group : {32, 100}) {
            CAPTURE(std::string(isa_name(isa)));
            CAPTURE(bits);
            CAPTURE(offsets);
            CAPTURE(m);
            CAPTURE(group);
            const Problem p = random_problem(m, 37, 100, group, bits, offsets, rng);
            const LowBitPanels packed =
                pack_lowbit_panels(p.n, p.k, p.bits, p.group, p.codes.data(), p.k, p.code_shift,
                                   p.steps.data(), p.offsets.data());
            std::vector<float> batch(p.m * p.n), one(p.n);
            lowbit_gemm(isa, p.m, p.x.data(), p.k + 3, packed, p.bias.data(), batch.data(), p.n);
            for (std::size_t r = 0; r < p.m; ++r) {
              lowbit_gemm(isa, 1, p.x.data() + r * (p.k + 3), p.k + 3, packed, p.bias.data(),
                          one.data(), p.n);
              CHECK(std::equal(one.begin(), one.end(), batch.begin() + std::ptrdiff_t(r * p.n)));
            }
          }
}

TEST_CASE("lowbit_gemm on avx512 gives the avx2 path's bits") {
  // Each output is the same chain of fused multiply-adds and the same
  // rescaling on both paths, whichever tile (rows, panels, pairs cut short)
  // computes it.
  if (!supported(KernelFamily::widen_gemm, Isa::avx512)) {
    MESSAGE("widen_gemm path avx512 NOT TESTED: this CPU cannot run it");
    return;
  }
  Rng rng(17);
  struct Shape {
    std::size_t m, n, k;
  };
  const Shape shapes[] = {{1, 8, 64},  {1, 45, 100}, {1, 256, 784}, {2, 9, 33},
                          {6, 37, 96}, {7, 70, 128}, {13, 24, 50},  {25, 100, 200}};
  for (const int bits : {2, 3, 4})
    for (const bool offsets : {false, true})
      for (const Shape& s : shapes)
        for (const std::size_t group : {s.k, std::size_t{32}}) {
          CAPTURE(bits);
          CAPTURE(offsets);
          CAPTURE(s.m);
          CAPTURE(s.n);
          CAPTURE(s.k);
          CAPTURE(group);
          const Problem p = random_problem(s.m, s.n, s.k, group, bits, offsets, rng);
          const LowBitPanels packed =
              pack_lowbit_panels(p.n, p.k, p.bits, p.group, p.codes.data(), p.k, p.code_shift,
                                 p.steps.data(), p.offsets.data());
          std::vector<float> avx2(p.m * p.n), avx512(p.m * p.n);
          lowbit_gemm(Isa::avx2, p.m, p.x.data(), p.k + 3, packed, p.bias.data(), avx2.data(), p.n);
          lowbit_gemm(Isa::avx512, p.m, p.x.data(), p.k + 3, packed, p.bias.data(), avx512.data(),
                      p.n);
          CHECK(avx512 == avx2);
        }
}

TEST_CASE("lowbit_gemm_panels computes only its panels' outputs, with the same bits") {
  Rng rng(13);
  for (const Isa isa : test::paths_to_test(KernelFamily::widen_gemm))
    for (const std::size_t m : {std::size_t{1}, std::size_t{3}, std::size_t{8}}) {  // 8: wide tiles
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(m);
      const Problem p = random_problem(m, 45, 100, 32, 4, true, rng);  // 6 panels, the last short
      const LowBitPanels packed =
          pack_lowbit_panels(p.n, p.k, p.bits, p.group, p.codes.data(), p.k, p.code_shift,
                             p.steps.data(), p.offsets.data());
      std::vector<float> whole(p.m * p.n), split(p.m * p.n, 7.0f);
      lowbit_gemm(isa, p.m, p.x.data(), p.k + 3, packed, p.bias.data(), whole.data(), p.n);
      // Panels [1, 4): outputs 8..31 only.
      lowbit_gemm_panels(isa, p.m, p.x.data(), p.k + 3, packed, 1, 4, p.bias.data(), split.data(),
                         p.n);
      for (std::size_t r = 0; r < p.m; ++r)
        for (std::size_t j = 0; j < p.n; ++j) {
          CAPTURE(j);
          if (j >= 8 && j < 32)
            CHECK(split[r * p.n + j] == whole[r * p.n + j]);
          else
            CHECK(split[r * p.n + j] == 7.0f);
        }
      // The rest, in two more calls: then every output equals the whole product's.
      lowbit_gemm_panels(isa, p.m, p.x.data(), p.k + 3, packed, 0, 1, p.bias.data(), split.data(),
                         p.n);
      lowbit_gemm_panels(isa, p.m, p.x.data(), p.k + 3, packed, 4, 6, p.bias.data(), split.data(),
                         p.n);
      CHECK(split == whole);
      CHECK_THROWS_AS(lowbit_gemm_panels(isa, p.m, p.x.data(), p.k + 3, packed, 2, 7, p.bias.data(),
                                         split.data(), p.n),
                      Error);
    }
}

TEST_CASE("pack_lowbit_panels refuses codes that do not fit, bad widths and odd 2-bit groups") {
  const std::vector<std::uint8_t> codes = {16, 0, 0, 0};
  const std::vector<float> steps(4, 1.0f), offsets(4, 0.0f);
  CHECK_THROWS_AS(pack_lowbit_panels(1, 4, 4, 4, codes.data(), 4, 0, steps.data(), offsets.data()),
                  Error);
  const std::vector<std::uint8_t> small = {1, 2, 3, 0};
  CHECK_THROWS_AS(pack_lowbit_panels(1, 4, 5, 4, small.data(), 4, 0, steps.data(), offsets.data()),
                  Error);
  CHECK_THROWS_AS(pack_lowbit_panels(1, 4, 2, 3, small.data(), 4, 0, steps.data(), offsets.data()),
                  Error);
  CHECK_NOTHROW(pack_lowbit_panels(1, 4, 2, 2, small.data(), 4, 0, steps.data(), offsets.data()));
}
