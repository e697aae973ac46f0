// int8_gemm (u8 × s8 -> int32) on every integer path this CPU can run,
// against the triple loop: odd shapes (1x1, 7x13, sizes that are not a
// multiple of the 4-byte k-group, the 16-wide panel or the row tile), k
// sub-ranges, and the extreme values where a saturating kernel would fail;
// the same for int8_gemm_u7 (activations 0..127, the AVX2 vpmaddubsw kernel)
// at its own extremes, and for int8_gemm_pairs (weights packed in input pairs) with
// column ranges. Also the activation helpers (same bits on every path) and widen_gemm
// (f32 × s8 -> f32) against double sums.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/int8_gemm_kernels.hpp"
#include "core/kernels/widen_gemm.hpp"
#include "core/random.hpp"
#include "isa_paths.hpp"

using namespace tinyq;

namespace {

const std::vector<Isa>& int8_isas() {
  static const std::vector<Isa> paths =
      test::paths_to_test(KernelFamily::int8_gemm);  // reported once
  return paths;
}

struct Problem {
  std::size_t m, n, k;
  std::vector<std::uint8_t> a;  // [m, padded k], zeros past k
  std::vector<std::int8_t> b;   // [n, k]
  std::size_t lda;
};

Problem random_problem(std::size_t m, std::size_t n, std::size_t k, Rng& rng) {
  Problem p{m, n, k, {}, {}, (k + 3) / 4 * 4 + 8};
  p.a.assign(m * p.lda, 0);
  p.b.resize(n * k);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t i = 0; i < k; ++i)
      p.a[r * p.lda + i] = static_cast<std::uint8_t>(rng.below(256));
  for (auto& w : p.b) w = static_cast<std::int8_t>(static_cast<int>(rng.below(256)) - 128);
  return p;
}

// C [m, ldc] holds expected [m, n] in columns [j_begin, j_end) and the
// sentinel -7, written before the call, everywhere else.
bool columns_hold(const std::vector<std::int32_t>& c, std::size_t ldc,
                  const std::vector<std::int32_t>& expected, std::size_t m, std::size_t n,
                  std::size_t j_begin, std::size_t j_end) {
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t j = 0; j < ldc; ++j) {
      const bool inside = j >= j_begin && j < j_end;
      if (c[r * ldc + j] != (inside ? expected[r * n + j] : -7)) return false;
    }
  return true;
}

}  // namespace

TEST_CASE("int8_gemm matches the reference on odd shapes for every supported path") {
  Rng rng(7);
  const std::size_t shapes[][3] = {{1, 1, 1},     {7, 13, 5},   {7, 13, 13},
                                   {1, 10, 784},  {13, 17, 29}, {12, 32, 64},
                                   {25, 40, 100}, {3, 33, 3},   {64, 256, 784}};
  for (const auto& shape : shapes) {
    const Problem p = random_problem(shape[0], shape[1], shape[2], rng);
    std::vector<std::int32_t> expected(p.m * p.n);
    int8_gemm_reference(p.m, p.n, p.k, p.a.data(), p.lda, p.b.data(), p.k, expected.data(), p.n);
    const Int8Panels packed = pack_int8_panels(p.n, p.k, p.b.data(), p.k);
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(p.m);
      CAPTURE(p.n);
      CAPTURE(p.k);
      // ldc wider than n, with a sentinel that must survive.
      const std::size_t ldc = p.n + 3;
      std::vector<std::int32_t> c(p.m * ldc, -7);
      int8_gemm(isa, p.m, p.a.data(), p.lda, packed, 0, p.k, c.data(), ldc);
      bool same = true;
      for (std::size_t r = 0; r < p.m; ++r) {
        for (std::size_t j = 0; j < p.n; ++j)
          same = same && c[r * ldc + j] == expected[r * p.n + j];
        for (std::size_t j = p.n; j < ldc; ++j) same = same && c[r * ldc + j] == -7;
      }
      CHECK(same);
    }
  }
}

TEST_CASE("int8_gemm sums only the requested k range") {
  Rng rng(11);
  const Problem p = random_problem(9, 21, 70, rng);
  const Int8Panels packed = pack_int8_panels(p.n, p.k, p.b.data(), p.k);
  for (const auto& range : {std::pair<std::size_t, std::size_t>{16, 32}, {64, 70}, {0, 4}}) {
    const std::size_t begin = range.first, end = range.second;  // clang 14 cannot capture bindings
    std::vector<std::int32_t> expected(p.m * p.n);
    int8_gemm_reference(p.m, p.n, end - begin, p.a.data() + begin, p.lda, p.b.data() + begin, p.k,
                        expected.data(), p.n);
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(begin);
      std::vector<std::int32_t> c(p.m * p.n);
      int8_gemm(isa, p.m, p.a.data(), p.lda, packed, begin, end, c.data(), p.n);
      CHECK(c == expected);
    }
  }
}

TEST_CASE("int8_gemm gives the reference's integers with AMX tiles on and off") {
  // Shapes that leave AMX (whole 16 rows × whole panels × whole 16
  // k-groups) a remainder of each kind: rows past the last 16, a panel of
  // fewer than 16 outputs, k-groups past the last 16 (summed first, then
  // added to), k ranges that start past 0, and blocks of one and two tiles
  // in each direction (core/kernels/int8_gemm_amx.cpp).
  if (!int8_amx_available()) {
    MESSAGE("int8_gemm AMX tiles NOT TESTED: this CPU or operating system does not offer AMX-INT8");
    return;
  }
  Rng rng(19);
  const std::size_t shapes[][5] = {
      // m, n, k, k_begin, k_end
      {16, 16, 64, 0, 64},    {32, 32, 64, 0, 64},     {48, 256, 784, 0, 784},
      {17, 40, 100, 0, 100},  {64, 10, 128, 0, 128},   {35, 48, 300, 64, 300},
      {80, 130, 257, 0, 257}, {33, 33, 640, 128, 512}, {48, 128, 256, 4, 256}};
  const bool before = set_int8_amx_enabled(true);
  for (const auto& shape : shapes) {
    const Problem p = random_problem(shape[0], shape[1], shape[2], rng);
    const std::size_t k_begin = shape[3], k_end = shape[4];
    CAPTURE(p.m);
    CAPTURE(p.n);
    CAPTURE(p.k);
    CAPTURE(k_begin);
    std::vector<std::int32_t> expected(p.m * p.n);
    int8_gemm_reference(p.m, p.n, k_end - k_begin, p.a.data() + k_begin, p.lda,
                        p.b.data() + k_begin, p.k, expected.data(), p.n);
    const Int8Panels packed = pack_int8_panels(p.n, p.k, p.b.data(), p.k);
    for (const bool amx : {true, false}) {
      CAPTURE(amx);
      set_int8_amx_enabled(amx);
      std::vector<std::int32_t> c(p.m * p.n, -7), c7(p.m * p.n, -7);
      int8_gemm(Isa::avx512, p.m, p.a.data(), p.lda, packed, k_begin, k_end, c.data(), p.n);
      CHECK(c == expected);
      // The same for int8_gemm_u7, on the activations halved to 0..127.
      Problem half = p;
      for (auto& value : half.a) value = static_cast<std::uint8_t>(value / 2);
      std::vector<std::int32_t> expected7(p.m * p.n);
      int8_gemm_reference(p.m, p.n, k_end - k_begin, half.a.data() + k_begin, p.lda,
                          p.b.data() + k_begin, p.k, expected7.data(), p.n);
      int8_gemm_u7(Isa::avx512, p.m, half.a.data(), p.lda, packed, k_begin, k_end, c7.data(), p.n);
      CHECK(c7 == expected7);
    }
  }
  set_int8_amx_enabled(before);
}

TEST_CASE("int8_gemm is exact at the extremes (255 times -128 over long rows)") {
  const std::size_t m = 3, n = 18, k = 4000;
  std::vector<std::uint8_t> a(m * k, 255);
  std::vector<std::int8_t> b(n * k, -128);
  for (std::size_t i = 0; i < k; i += 2) b[i] = 127;  // row 0 alternates
  const Int8Panels packed = pack_int8_panels(n, k, b.data(), k);
  for (Isa isa : int8_isas()) {
    CAPTURE(std::string(isa_name(isa)));
    std::vector<std::int32_t> c(m * n);
    int8_gemm(isa, m, a.data(), k, packed, 0, k, c.data(), n);
    CHECK(c[1] == 255 * -128 * static_cast<std::int32_t>(k));
    CHECK(c[0] == 255 * (127 - 128) * static_cast<std::int32_t>(k / 2));
  }
}

TEST_CASE("int8_gemm_u7 matches the reference on random shapes, k ranges and 7-bit extremes") {
  // Activations 0..127 (the contract), a quarter of them at 0 or 127, and a
  // quarter of the weights at -128 or 127: 127·(-128) + 127·(-128) is the
  // pair sum closest to int16's limit, where a saturating kernel would fail.
  Rng rng(41);
  for (std::size_t trial = 0; trial < 60; ++trial) {
    const std::size_t m = 1 + rng.below(15), n = 1 + rng.below(70), k = 1 + rng.below(300);
    Problem p = random_problem(m, n, k, rng);
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t i = 0; i < k; ++i) {
        const std::size_t pick = rng.below(8);
        std::uint8_t& v = p.a[r * p.lda + i];
        v = pick == 0 ? 0 : pick == 1 ? 127 : static_cast<std::uint8_t>(v % 128);
      }
    for (auto& w : p.b) {
      const std::size_t pick = rng.below(8);
      if (pick < 2) w = pick == 0 ? std::int8_t{-128} : std::int8_t{127};
    }
    // Whole rows, or a range [4·i, end) with end a multiple of 4 or k.
    std::size_t begin = 0, end = k;
    if (trial % 2 == 1) {
      begin = 4 * rng.below(k / 4 + 1);
      end = std::min(k, begin + 4 * rng.below((k - begin) / 4 + 2));
      if (end % 4 != 0) end = k;
    }
    std::vector<std::int32_t> expected(m * n);
    int8_gemm_reference(m, n, end - begin, p.a.data() + begin, p.lda, p.b.data() + begin, k,
                        expected.data(), n);
    const Int8Panels packed = pack_int8_panels(n, k, p.b.data(), k);
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(m);
      CAPTURE(n);
      CAPTURE(k);
      CAPTURE(begin);
      CAPTURE(end);
      const std::size_t ldc = n + 3;
      std::vector<std::int32_t> c(m * ldc, -7);
      int8_gemm_u7(isa, m, p.a.data(), p.lda, packed, begin, end, c.data(), ldc);
      bool same = true;
      for (std::size_t r = 0; r < m; ++r) {
        for (std::size_t j = 0; j < n; ++j) same = same && c[r * ldc + j] == expected[r * n + j];
        for (std::size_t j = n; j < ldc; ++j) same = same && c[r * ldc + j] == -7;
      }
      CHECK(same);
    }
  }
}

TEST_CASE("int8_gemm_u7 is exact at the 7-bit extremes over long rows") {
  // Every pair sum is ±2·127·128 = ±32,512 (or 127·(127 - 128) on row 0).
  const std::size_t m = 7, n = 18, k = 4000;
  std::vector<std::uint8_t> a(m * k, 127);
  std::vector<std::int8_t> b(n * k, -128);
  for (std::size_t i = 0; i < k; i += 2) b[i] = 127;  // row 0 alternates
  for (std::size_t i = 0; i < k; ++i) b[2 * k + i] = 127;
  const Int8Panels packed = pack_int8_panels(n, k, b.data(), k);
  for (Isa isa : int8_isas()) {
    CAPTURE(std::string(isa_name(isa)));
    std::vector<std::int32_t> c(m * n);
    int8_gemm_u7(isa, m, a.data(), k, packed, 0, k, c.data(), n);
    for (std::size_t r = 0; r < m; ++r) {
      CHECK(c[r * n] == 127 * (127 - 128) * static_cast<std::int32_t>(k / 2));
      CHECK(c[r * n + 1] == 127 * -128 * static_cast<std::int32_t>(k));
      CHECK(c[r * n + 2] == 127 * 127 * static_cast<std::int32_t>(k));
      CHECK(c[r * n + 17] == 127 * -128 * static_cast<std::int32_t>(k));
    }
  }
}

TEST_CASE("int8_pair_sums_fit_int16 is 2 · a_max · max|b| <= 32,767") {
  CHECK(int8_pair_sums_fit_int16(255, 64));  // 32,640: 7-bit weights
  CHECK_FALSE(int8_pair_sums_fit_int16(255, 65));
  CHECK(int8_pair_sums_fit_int16(127, 128));  // 32,512: int8_gemm_u7's case
  CHECK_FALSE(int8_pair_sums_fit_int16(128, 128));
  CHECK_FALSE(int8_pair_sums_fit_int16(255, 127));
  CHECK(int8_pair_sums_fit_int16(0, 128));
}

TEST_CASE("int8_gemm_narrow matches the reference for narrow and full operands and column ranges") {
  // Bounds on both sides of int16's limit; a quarter of the values sit at
  // the bounds with one sign, the pair sums nearest saturation.
  const std::int32_t bounds[][2] = {{255, 127}, {255, 64}, {255, 63}, {255, 31},
                                    {127, 128}, {127, 8},  {200, 81}, {200, 82}};
  Rng rng(47);
  for (std::size_t trial = 0; trial < 96; ++trial) {
    const std::int32_t a_max = bounds[trial % 8][0], b_max = bounds[trial % 8][1];
    const std::size_t m = 1 + rng.below(9), n = 1 + rng.below(70), k = 1 + rng.below(400);
    Problem p = random_problem(m, n, k, rng);
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t i = 0; i < k; ++i) {
        std::uint8_t& v = p.a[r * p.lda + i];
        v = rng.below(4) == 0 ? static_cast<std::uint8_t>(a_max)
                              : static_cast<std::uint8_t>(v % (a_max + 1));
      }
    const bool negative = trial % 3 == 0;
    for (auto& w : p.b) {
      const auto drawn = static_cast<std::int32_t>(rng.below(2 * b_max + 1)) - b_max;
      w = static_cast<std::int8_t>(
          std::clamp(rng.below(4) == 0 ? (negative ? -b_max : b_max) : drawn, -128, 127));
    }
    std::size_t j_begin = 0, j_end = n;
    if (trial % 4 >= 2) {
      j_begin = 16 * rng.below((n + 15) / 16);
      j_end = std::min(n, j_begin + 16 * (1 + rng.below(3)));
    }
    std::vector<std::int32_t> expected(m * n);
    int8_gemm_reference(m, n, k, p.a.data(), p.lda, p.b.data(), k, expected.data(), n);
    const Int8Panels packed = pack_int8_panels(n, k, p.b.data(), k);
    CHECK(packed.max_abs <= b_max);
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(trial);
      CAPTURE(m);
      CAPTURE(n);
      CAPTURE(k);
      const std::size_t ldc = n + 3;
      std::vector<std::int32_t> c(m * ldc, -7);
      int8_gemm_narrow(isa, m, p.a.data(), p.lda, a_max, packed, j_begin, j_end, c.data(), ldc);
      CHECK(columns_hold(c, ldc, expected, m, n, j_begin, j_end));
    }
  }
}

TEST_CASE("int8_gemm_narrow is exact at 255 times ±64 over long rows") {
  // Every pair sum is ±2·255·64 = ±32,640, 127 short of int16's limit.
  const std::size_t m = 5, n = 17, k = 4000;
  std::vector<std::uint8_t> a(m * k, 255);
  std::vector<std::int8_t> b(n * k, -64);
  for (std::size_t i = 0; i < k; ++i) b[16 * k + i] = 64;
  const Int8Panels packed = pack_int8_panels(n, k, b.data(), k);
  CHECK(packed.max_abs == 64);
  for (Isa isa : int8_isas()) {
    CAPTURE(std::string(isa_name(isa)));
    std::vector<std::int32_t> c(m * n);
    int8_gemm_narrow(isa, m, a.data(), k, 255, packed, 0, n, c.data(), n);
    for (std::size_t r = 0; r < m; ++r) {
      CHECK(c[r * n] == -255 * 64 * static_cast<std::int32_t>(k));
      CHECK(c[r * n + 16] == 255 * 64 * static_cast<std::int32_t>(k));
    }
  }
}

TEST_CASE("int8_gemm_pairs matches the reference on random shapes, column ranges and u8 extremes") {
  // Any u8 activation, a quarter of them at 0 or 255, and a quarter of the
  // weights at -128 or 127; m, n and k ragged against the row tile, the
  // 16-wide panel and the pairs and groups of k. Half the trials compute one
  // column range only (what a thread does at batch 1): the columns outside
  // it must keep their old value.
  Rng rng(43);
  for (std::size_t trial = 0; trial < 80; ++trial) {
    const std::size_t m = 1 + rng.below(15), n = 1 + rng.below(70), k = 1 + rng.below(300);
    Problem p = random_problem(m, n, k, rng);
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t i = 0; i < k; ++i) {
        const std::size_t pick = rng.below(8);
        if (pick < 2) p.a[r * p.lda + i] = pick == 0 ? 0 : 255;
      }
    for (auto& w : p.b) {
      const std::size_t pick = rng.below(8);
      if (pick < 2) w = pick == 0 ? std::int8_t{-128} : std::int8_t{127};
    }
    std::size_t j_begin = 0, j_end = n;
    if (trial % 2 == 1) {
      const std::size_t panels = (n + 15) / 16;
      j_begin = 16 * rng.below(panels);
      j_end = std::min(n, j_begin + 16 * (1 + rng.below(panels)));
    }
    std::vector<std::int32_t> expected(m * n);
    int8_gemm_reference(m, n, k, p.a.data(), p.lda, p.b.data(), k, expected.data(), n);
    const Int8PairPanels packed = pack_int8_pair_panels(n, k, p.b.data(), k);
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(m);
      CAPTURE(n);
      CAPTURE(k);
      CAPTURE(j_begin);
      CAPTURE(j_end);
      const std::size_t ldc = n + 3;
      std::vector<std::int32_t> c(m * ldc, -7);
      int8_gemm_pairs(isa, m, p.a.data(), p.lda, packed, j_begin, j_end, c.data(), ldc);
      CHECK(columns_hold(c, ldc, expected, m, n, j_begin, j_end));
    }
  }
}

TEST_CASE(
    "rows with zero k-groups and pairs, skipped per row or tile of rows: u7, narrow and pairs "
    "exact") {
  // The kernels' sparse entries sum, for each row or each tile of rows, only
  // over the k-groups (u7, narrow) or input pairs (pairs) holding a nonzero
  // byte in it; one row (batch 1) shares its list between panels. Here:
  // 1 to 9 rows (whole and partial tiles), groups zero in every row, in some
  // rows, or holding one nonzero byte in any of their four places; all-zero
  // rows and rows nonzero only in the last (partial) group. The u7 calls also
  // take k ranges, the others columns; n reaches 10 panels, so one row's
  // passes of 1 to 4 panels are all taken.
  Rng rng(53);
  for (std::size_t trial = 0; trial < 160; ++trial) {
    const std::size_t m = trial % 3 == 0 ? 1 : 1 + rng.below(9);
    const std::size_t n = 1 + rng.below(150);
    const std::size_t k = trial % 10 == 0 ? 784 : 1 + rng.below(300);
    Problem p = random_problem(m, n, k, rng);
    const std::size_t shape = trial % 6;  // 0: all zero, 1: last group only, else runs
    for (std::size_t g = 0; g * 4 < k; ++g) {
      const bool last = (g + 1) * 4 >= k;
      const bool zero_group = shape == 0 || (shape == 1 && !last) || (shape > 1 && rng.below(2));
      // Every fifth trial its rows are mostly zero, each in its own places,
      // so each row walks its own list (list_block); the others mostly share.
      const bool scattered = trial % 5 == 4 && shape > 1;
      const bool in_every_row = rng.below(3) != 0;
      for (std::size_t r = 0; r < m; ++r) {
        const bool zero =
            scattered ? rng.below(4) != 0 : zero_group && (in_every_row || rng.below(2));
        const std::size_t only = rng.below(5);  // 4: all four bytes drawn, else just that one
        for (std::size_t t = 0; t < 4 && g * 4 + t < k; ++t)
          if (zero || (only < 4 && t != only)) p.a[r * p.lda + g * 4 + t] = 0;
      }
    }
    std::size_t j_begin = 0, j_end = n;
    if (trial % 4 >= 2) {
      j_begin = 16 * rng.below((n + 15) / 16);
      j_end = std::min(n, j_begin + 16 * (1 + rng.below(3)));
    }
    std::vector<std::int32_t> expected(m * n);
    int8_gemm_reference(m, n, k, p.a.data(), p.lda, p.b.data(), k, expected.data(), n);
    // int8_gemm_u7: the same rows with every byte halved (0..127), zeros kept.
    std::vector<std::uint8_t> a7(p.a);
    for (auto& v : a7) v = static_cast<std::uint8_t>(v / 2);
    std::size_t begin = 0, end = k;
    if (trial % 2 == 1) {
      begin = 4 * rng.below(k / 4 + 1);
      end = std::min(k, begin + 4 * rng.below((k - begin) / 4 + 2));
      if (end % 4 != 0) end = k;
    }
    std::vector<std::int32_t> expected7(m * n);
    int8_gemm_reference(m, n, end - begin, a7.data() + begin, p.lda, p.b.data() + begin, k,
                        expected7.data(), n);
    // int8_gemm_narrow: weights within ±64, any u8.
    std::vector<std::int8_t> b64(p.b);
    for (auto& w : b64) w = static_cast<std::int8_t>(w / 2);
    std::vector<std::int32_t> expected64(m * n);
    int8_gemm_reference(m, n, k, p.a.data(), p.lda, b64.data(), k, expected64.data(), n);
    const Int8PairPanels pairs = pack_int8_pair_panels(n, k, p.b.data(), k);
    const Int8Panels panels = pack_int8_panels(n, k, p.b.data(), k);
    const Int8Panels narrow = pack_int8_panels(n, k, b64.data(), k);
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(trial);
      CAPTURE(m);
      CAPTURE(n);
      CAPTURE(k);
      const std::size_t ldc = n + 3;
      std::vector<std::int32_t> c(m * ldc, -7);
      int8_gemm_pairs(isa, m, p.a.data(), p.lda, pairs, j_begin, j_end, c.data(), ldc);
      CHECK(columns_hold(c, ldc, expected, m, n, j_begin, j_end));
      std::fill(c.begin(), c.end(), -7);
      int8_gemm_narrow(isa, m, p.a.data(), p.lda, 255, narrow, j_begin, j_end, c.data(), ldc);
      CHECK(columns_hold(c, ldc, expected64, m, n, j_begin, j_end));
      std::fill(c.begin(), c.end(), -7);
      int8_gemm_u7(isa, m, a7.data(), p.lda, panels, begin, end, c.data(), ldc);
      CHECK(columns_hold(c, ldc, expected7, m, n, 0, n));
    }
  }
}

TEST_CASE("list_nonzero_words_avx2 and _avx512 list the same words as list_nonzero_words") {
  struct Lister {
    const char* name;
    Isa isa;
    ListNonzeroFunction list;
  };
  const Lister listers[] = {{"list_nonzero_words_avx2", Isa::avx2, list_nonzero_words_avx2},
                            {"list_nonzero_words_avx512", Isa::avx512, list_nonzero_words_avx512}};
  for (const Lister& lister : listers) {
    if (!supported(KernelFamily::int8_gemm, lister.isa)) {
      MESSAGE(lister.name << " NOT TESTED: this CPU cannot run it");
      continue;
    }
    CAPTURE(std::string(lister.name));
    // 1 to 5 rows of words that are zero, or nonzero in one byte, at random;
    // ranges of every length mod 8 and mod 16 with any start; the output holds
    // exactly end - begin values (so a store past it shows under the sanitizers).
    Rng rng(59);
    for (std::size_t trial = 0; trial < 300; ++trial) {
      const std::size_t rows = 1 + rng.below(5), words = 1 + rng.below(70);
      const std::size_t row_bytes = 4 * words + 4 * rng.below(3);
      std::vector<std::uint8_t> bytes(rows * row_bytes, 0);
      const std::size_t density = rng.below(5);  // in quarters: 0 (all zero) to 4 (none)
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t w = 0; w < words; ++w)
          if (rng.below(4) < density)
            bytes[r * row_bytes + 4 * w + rng.below(4)] =
                static_cast<std::uint8_t>(1 + rng.below(255));
      const std::size_t begin = rng.below(words + 1);
      const std::size_t end = begin + rng.below(words - begin + 1);
      std::vector<std::uint32_t> expected(end - begin), found(end - begin);
      const std::size_t count =
          list_nonzero_words(bytes.data(), row_bytes, rows, begin, end, expected.data());
      CAPTURE(trial);
      REQUIRE(lister.list(bytes.data(), row_bytes, rows, begin, end, found.data()) == count);
      CHECK(std::equal(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(count),
                       found.begin()));
    }
  }
}

TEST_CASE("int8_gemm_pairs is exact at the u8 extremes over long rows") {
  const std::size_t m = 7, n = 18, k = 4001;
  std::vector<std::uint8_t> a(m * 4004, 255);
  std::vector<std::int8_t> b(n * k, -128);
  for (std::size_t i = 0; i < k; i += 2) b[i] = 127;  // row 0 alternates
  for (std::size_t i = 0; i < k; ++i) b[2 * k + i] = 127;
  const Int8PairPanels packed = pack_int8_pair_panels(n, k, b.data(), k);
  for (std::size_t r = 0; r < m; ++r) std::fill_n(a.data() + r * 4004 + k, 3, std::uint8_t{0});
  for (Isa isa : int8_isas()) {
    CAPTURE(std::string(isa_name(isa)));
    std::vector<std::int32_t> c(m * n);
    int8_gemm_pairs(isa, m, a.data(), 4004, packed, 0, n, c.data(), n);
    for (std::size_t r = 0; r < m; ++r) {
      CHECK(c[r * n] == 255 * 127 * 2001 + 255 * -128 * 2000);
      CHECK(c[r * n + 1] == 255 * -128 * static_cast<std::int32_t>(k));
      CHECK(c[r * n + 2] == 255 * 127 * static_cast<std::int32_t>(k));
      CHECK(c[r * n + 17] == 255 * -128 * static_cast<std::int32_t>(k));
    }
  }
}

TEST_CASE(
    "int8_gemm_pairs and int8_gemm_narrow refuse a column range that cuts a panel or runs past n") {
  const std::vector<std::int8_t> b(40 * 8, 1);
  const std::vector<std::uint8_t> a(8, 1);
  const Int8PairPanels packed = pack_int8_pair_panels(40, 8, b.data(), 8);
  std::vector<std::int32_t> c(40);
  for (const auto& range :
       {std::pair<std::size_t, std::size_t>{8, 40}, {0, 41}, {0, 20}, {32, 16}}) {
    const std::size_t j_begin = range.first,
                      j_end = range.second;  // clang 14 cannot capture bindings
    CAPTURE(j_begin);
    CAPTURE(j_end);
    CHECK_THROWS_AS(
        int8_gemm_pairs(Isa::generic, 1, a.data(), 8, packed, j_begin, j_end, c.data(), 40), Error);
    CHECK_THROWS_AS(int8_gemm_narrow(Isa::generic, 1, a.data(), 8, 255, packed.bytes, j_begin,
                                     j_end, c.data(), 40),
                    Error);
  }
  CHECK_THROWS_AS(
      int8_gemm_narrow(Isa::generic, 1, a.data(), 8, 256, packed.bytes, 0, 40, c.data(), 40),
      Error);
}

TEST_CASE("int8_gemm refuses a k range that cuts a k-group or runs past k") {
  const std::vector<std::int8_t> b(2 * 8, 1);
  const std::vector<std::uint8_t> a(8, 1);
  const Int8Panels packed = pack_int8_panels(2, 8, b.data(), 8);
  std::vector<std::int32_t> c(2);
  CHECK_THROWS_AS(int8_gemm(Isa::generic, 1, a.data(), 8, packed, 2, 8, c.data(), 2), Error);
  CHECK_THROWS_AS(int8_gemm(Isa::generic, 1, a.data(), 8, packed, 0, 9, c.data(), 2), Error);
  CHECK_THROWS_AS(int8_gemm(Isa::generic, 1, a.data(), 8, packed, 0, 3, c.data(), 2), Error);
}

TEST_CASE("pack_int8_panels refuses rows long enough to overflow int32 sums") {
  const std::vector<std::int8_t> b(70000, 0);
  CHECK_THROWS_AS(pack_int8_panels(1, 70000, b.data(), 70000), Error);
}

TEST_CASE("float_range and affine_to_u8 give the same results on every path") {
  Rng rng(3);
  for (const std::size_t n : {1u, 7u, 8u, 9u, 16u, 31u, 33u, 40u, 63u, 784u}) {
    std::vector<float> x(n);
    for (float& v : x) v = rng.uniform(-3.0f, 2.0f);
    x[n / 2] = 1.5f;
    float lo0, hi0;
    float_range(Isa::generic, x.data(), n, lo0, hi0);
    std::vector<std::uint8_t> expected(n);
    const std::uint32_t expected_sum =
        affine_to_u8(Isa::generic, x.data(), n, 60.0f, 100.0f, 255.0f, expected.data());
    std::uint32_t sum = 0;
    for (const std::uint8_t code : expected) sum += code;
    CHECK(expected_sum == sum);
    CHECK(hi0 >= 1.5f);
    for (std::size_t i = 0; i < n; ++i) {
      const float v = std::min(255.0f, std::max(0.0f, x[i] * 60.0f + 100.0f));
      CHECK(std::abs(float(expected[i]) - v) <= 0.5f);
    }
    for (Isa isa : int8_isas()) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(n);
      float lo, hi;
      float_range(isa, x.data(), n, lo, hi);
      CHECK(lo == lo0);
      CHECK(hi == hi0);
      std::vector<std::uint8_t> codes(n + 1, 77);
      CHECK(affine_to_u8(isa, x.data(), n, 60.0f, 100.0f, 255.0f, codes.data()) == expected_sum);
      CHECK(std::equal(expected.begin(), expected.end(), codes.begin()));
      CHECK(codes[n] == 77);
    }
  }
}

TEST_CASE("affine_to_u8_runs gives affine_to_u8's codes and each run's sum on every path") {
  Rng rng(8);
  for (const std::size_t n : {1u, 63u, 64u, 65u, 784u})
    for (const std::size_t run : {1u, 16u, 64u, 1000u}) {
      CAPTURE(n);
      CAPTURE(run);
      std::vector<float> x(n);
      for (float& v : x) v = rng.uniform(-1.0f, 3.0f);
      const std::size_t runs = (n + run - 1) / run;
      for (Isa isa : int8_isas()) {
        CAPTURE(std::string(isa_name(isa)));
        std::vector<std::uint8_t> expected(n), codes(n + 1, 77);
        std::vector<std::int32_t> expected_sums, sums(runs + 1, -5);
        for (std::size_t begin = 0; begin < n; begin += run)
          expected_sums.push_back(static_cast<std::int32_t>(
              affine_to_u8(isa, x.data() + begin, std::min(run, n - begin), 30.0f, 31.0f, 127.0f,
                           expected.data() + begin)));
        affine_to_u8_runs(isa, x.data(), n, run, 30.0f, 31.0f, 127.0f, codes.data(), sums);
        CHECK(std::equal(expected.begin(), expected.end(), codes.begin()));
        CHECK(codes[n] == 77);
        CHECK(std::equal(expected_sums.begin(), expected_sums.end(), sums.begin()));
        CHECK(sums[runs] == -5);  // room past the last run is left alone
      }
    }
  std::vector<float> x(10, 1.0f);
  std::vector<std::uint8_t> codes(10);
  std::vector<std::int32_t> sums(3);
  CHECK_THROWS_AS(
      affine_to_u8_runs(Isa::generic, x.data(), 10, 0, 1.0f, 0.0f, 127.0f, codes.data(), sums),
      Error);
  CHECK_THROWS_AS(affine_to_u8_runs(Isa::generic, x.data(), 10, 4, 1.0f, 0.0f, 127.0f, codes.data(),
                                    std::span(sums).first(2)),
                  Error);
  CHECK_THROWS_AS(
      affine_to_u8_runs(Isa::generic, x.data(), 10, 4, 1.0f, 0.0f, 256.0f, codes.data(), sums),
      Error);
}

TEST_CASE("float_range and affine_to_u8 agree on NaNs, signed zeros, ties and both clamps") {
  CHECK_THROWS_AS(affine_to_u8(Isa::generic, nullptr, 0, 1.0f, 0.0f, 256.0f, nullptr), Error);
  CHECK_THROWS_AS(affine_to_u8(Isa::generic, nullptr, 0, 1.0f, 0.0f, 12.5f, nullptr), Error);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // With scale 1 and shift 100, k + 0.5 - 100 is an exact tie at code k + 0.5
  // (rounded up); ±1000 and ±inf clamp at 0 and top (255, or 127 for
  // dynamic int8's 7-bit codes, where 27.5 is a tie just above the top);
  // NaN becomes 0.
  const std::vector<float> special = {nan,   -0.0f,  0.0f,   -99.5f,  -100.0f,  -100.5f,
                                      27.5f, 154.5f, 155.5f, 1000.0f, -1000.0f, inf,
                                      -inf,  0.5f,   -0.5f,  1.5f,    nan};
  for (const float top : {255.0f, 127.0f})
    for (std::size_t n = 1; n <= 3 * special.size(); ++n) {
      CAPTURE(top);
      CAPTURE(n);
      std::vector<float> x(n);
      for (std::size_t i = 0; i < n; ++i) x[i] = special[(i * 5 + n) % special.size()];
      float lo0, hi0;
      float_range(Isa::generic, x.data(), n, lo0, hi0);
      std::vector<std::uint8_t> expected(n);
      const std::uint32_t expected_sum =
          affine_to_u8(Isa::generic, x.data(), n, 1.0f, 100.0f, top, expected.data());
      for (std::size_t i = 0; i < n; ++i) {
        // The definition, one value at a time: half up, clamped, NaN to 0.
        const float v = x[i] + 100.0f;
        const int code =
            std::isnan(v) ? 0 : static_cast<int>(std::clamp(std::floor(v + 0.5f), 0.0f, top));
        CHECK(expected[i] == code);
      }
      for (Isa isa : int8_isas()) {
        CAPTURE(std::string(isa_name(isa)));
        float lo, hi;
        float_range(isa, x.data(), n, lo, hi);
        CHECK(std::signbit(lo) == std::signbit(lo0));
        CHECK(lo == lo0);
        CHECK(hi == hi0);
        std::vector<std::uint8_t> codes(n, 77);
        CHECK(affine_to_u8(isa, x.data(), n, 1.0f, 100.0f, top, codes.data()) == expected_sum);
        CHECK(codes == expected);
      }
    }
}

// ---- widen_gemm: float rows × int8 weights, float sums ----

TEST_CASE("widen_gemm matches float sums on odd shapes and k ranges for every supported path") {
  const std::vector<Isa> paths = test::paths_to_test(KernelFamily::widen_gemm);
  Rng rng(23);
  const std::size_t shapes[][3] = {{1, 1, 1},    {7, 13, 5},   {1, 10, 784},  {2, 70, 33},
                                   {13, 17, 29}, {12, 32, 64}, {25, 40, 100}, {64, 256, 300}};
  for (const auto& shape : shapes) {
    const std::size_t m = shape[0], n = shape[1], k = shape[2];
    const std::size_t ldx = k + 3;
    std::vector<float> x(m * ldx);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    std::vector<std::int8_t> b(n * k);
    for (auto& w : b) w = static_cast<std::int8_t>(static_cast<int>(rng.below(256)) - 128);
    const WidenPanels packed = pack_widen_panels(n, k, b.data(), k);
    for (const auto& range : {std::pair<std::size_t, std::size_t>{0, k}, {k / 3, k / 2}}) {
      const std::size_t begin = range.first, end = range.second;
      std::vector<double> expected(m * n, 0.0);
      std::vector<double> magnitude(m * n, 0.0);
      for (std::size_t r = 0; r < m; ++r)
        for (std::size_t j = 0; j < n; ++j)
          for (std::size_t p = begin; p < end; ++p) {
            expected[r * n + j] += double(x[r * ldx + p]) * b[j * k + p];
            magnitude[r * n + j] += std::fabs(double(x[r * ldx + p]) * b[j * k + p]);
          }
      for (Isa isa : paths) {
        CAPTURE(std::string(isa_name(isa)));
        CAPTURE(m);
        CAPTURE(n);
        CAPTURE(k);
        CAPTURE(begin);
        const std::size_t ldc = n + 2;
        std::vector<float> c(m * ldc, -7.0f);
        widen_gemm(isa, m, x.data(), ldx, packed, begin, end, c.data(), ldc);
        std::size_t bad = 0;
        for (std::size_t r = 0; r < m; ++r) {
          for (std::size_t j = 0; j < n; ++j)
            if (std::fabs(c[r * ldc + j] - expected[r * n + j]) > 1e-5 * (magnitude[r * n + j] + 1))
              ++bad;
          for (std::size_t j = n; j < ldc; ++j) bad += c[r * ldc + j] != -7.0f;
        }
        CHECK(bad == 0);
      }
    }
  }
}

TEST_CASE("widen_gemm gives the same bits with the panels widened beforehand as in registers") {
  // More rows than a tile (and a run_wide on the path) widen each block of
  // k once and continue the sums block by block; a tile's worth of rows
  // widens in registers in one loop. Every sum is the same chain of fused
  // multiply-adds either way, over k longer than one block (256).
  const std::vector<Isa> paths = test::paths_to_test(KernelFamily::widen_gemm);
  Rng rng(29);
  const std::size_t m = 29, n = 37, k = 601;
  std::vector<float> x(m * k);
  for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
  std::vector<std::int8_t> b(n * k);
  for (auto& w : b) w = static_cast<std::int8_t>(static_cast<int>(rng.below(256)) - 128);
  const WidenPanels packed = pack_widen_panels(n, k, b.data(), k);
  for (Isa isa : paths)
    for (const auto& range : {std::pair<std::size_t, std::size_t>{0, k}, {3, 517}}) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(range.first);
      std::vector<float> all(m * n), few(m * n);
      widen_gemm(isa, m, x.data(), k, packed, range.first, range.second, all.data(), n);
      for (std::size_t r = 0; r < m; r += 2)  // two rows at a time: the in-register tiles
        widen_gemm(isa, std::min<std::size_t>(2, m - r), x.data() + r * k, k, packed, range.first,
                   range.second, few.data() + r * n, n);
      CHECK(std::memcmp(all.data(), few.data(), all.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("widen_gemm refuses a k range outside the packed rows") {
  const std::vector<std::int8_t> b(8, 1);
  const WidenPanels packed = pack_widen_panels(2, 4, b.data(), 4);
  std::vector<float> x(4, 1.0f), c(2);
  CHECK_THROWS_AS(widen_gemm(Isa::generic, 1, x.data(), 4, packed, 0, 5, c.data(), 2), Error);
  CHECK_THROWS_AS(widen_gemm(Isa::generic, 1, x.data(), 4, packed, 3, 2, c.data(), 2), Error);
}
