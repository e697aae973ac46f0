// gemm on every instruction-set path this CPU supports, against the triple
// loop, on shapes that hit every edge: tiles cut short in m and n, k split
// into several blocks, leading dimensions wider than the matrix, all four
// transpose combinations, beta 0, 1 and other. Plus: results are bit-for-bit
// the same for 1, 2 and 3 threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/fma_peak.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/gemm_blocked.hpp"
#include "core/kernels/gemm_kernels.hpp"
#include "core/kernels/gemm_pack.hpp"
#include "core/kernels/isa.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "isa_paths.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

// Restores the thread count a test changed.
struct ThreadsGuard {
  std::size_t threads = num_threads();
  ~ThreadsGuard() { set_num_threads(threads); }
};

using test::random_values;

// One line naming a product for a failing check's message.
std::string product_name(Isa isa, std::size_t m, std::size_t n, std::size_t k, bool ta, bool tb) {
  return std::string(isa_name(isa)) + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
         " k=" + std::to_string(k) + (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : "");
}

struct Case {
  std::size_t m, n, k;
  Transpose ta, tb;
  float beta;
  std::size_t pad;  // extra columns in every leading dimension
};

// Runs gemm and gemm_reference on the same random inputs and checks each
// element to within float rounding of a k-term sum of terms at most 1.
void check_against_reference(Isa isa, const Case& t, Rng& rng) {
  const std::size_t a_rows = t.ta == Transpose::yes ? t.k : t.m;
  const std::size_t a_cols = t.ta == Transpose::yes ? t.m : t.k;
  const std::size_t b_rows = t.tb == Transpose::yes ? t.n : t.k;
  const std::size_t b_cols = t.tb == Transpose::yes ? t.k : t.n;
  const std::size_t lda = a_cols + t.pad, ldb = b_cols + t.pad, ldc = t.n + t.pad;
  const auto a = random_values(a_rows * lda, rng);
  const auto b = random_values(b_rows * ldb, rng);
  auto c = random_values(t.m * ldc, rng);
  if (t.beta == 0.0f)  // beta 0 must not read C, so poison it
    for (float& x : c) x = std::numeric_limits<float>::quiet_NaN();
  const auto before = c;
  auto want = c;

  gemm(isa, t.ta, t.tb, t.m, t.n, t.k, a.data(), lda, b.data(), ldb, t.beta, c.data(), ldc);
  gemm_reference(t.ta, t.tb, t.m, t.n, t.k, a.data(), lda, b.data(), ldb, t.beta, want.data(), ldc);
  const double tolerance = 1e-6 * double(t.k + 4);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < t.m; ++i)
    for (std::size_t j = 0; j < t.n; ++j)
      if (!(std::fabs(double(c[i * ldc + j]) - double(want[i * ldc + j])) <= tolerance)) ++bad;
  CHECK(bad == 0);
  // Padding columns of C, on every row, are not part of the product and
  // keep their bits (NaN included, so compared as bytes).
  std::size_t padding_changed = 0;
  for (std::size_t i = 0; i < t.m; ++i)
    padding_changed += std::memcmp(c.data() + i * ldc + t.n, before.data() + i * ldc + t.n,
                                   t.pad * sizeof(float)) != 0;
  CHECK(padding_changed == 0);
}

}  // namespace

TEST_CASE("gemm matches the reference on odd shapes, every path and transpose") {
  ThreadsGuard guard;
  Rng rng(11);
  const std::size_t shapes[][3] = {{1, 1, 1},     {7, 13, 5},    {13, 7, 29}, {1, 33, 17},
                                   {65, 3, 31},   {19, 64, 1},   {12, 32, 8}, {25, 70, 400},
                                   {64, 10, 128}, {3, 100, 769}, {2, 45, 37}, {2, 300, 20},
                                   {13, 40, 1100}};
  for (Isa isa : test::paths_to_test(KernelFamily::gemm)) {
    for (const auto& shape : shapes)
      for (Transpose ta : {Transpose::no, Transpose::yes})
        for (Transpose tb : {Transpose::no, Transpose::yes})
          for (float beta : {0.0f, 1.0f, -0.5f})
            for (std::size_t pad : {0, 3}) {
              const std::size_t m = shape[0], n = shape[1], k = shape[2];
              INFO(product_name(isa, m, n, k, ta == Transpose::yes, tb == Transpose::yes));
              CAPTURE(beta);
              CAPTURE(pad);
              check_against_reference(isa, {m, n, k, ta, tb, beta, pad}, rng);
            }
  }
}

TEST_CASE("the vectorized transposing copies of packing write the generic copy's bytes") {
  Rng rng(17);
  struct Path {
    Isa isa;
    TransposeCopyFunction copy;
  };
  for (const Path path :
       {Path{Isa::avx2, transpose_copy_avx2}, Path{Isa::avx512, transpose_copy_avx512}}) {
    if (!supported(KernelFamily::gemm, path.isa)) {
      MESSAGE("transpose copy " << isa_name(path.isa) << " NOT TESTED: this CPU cannot run it");
      continue;
    }
    CAPTURE(isa_name(path.isa));
    // Widths of every tile (6, 12, 16), short rows, k not a multiple of 8 or 16.
    for (const std::size_t width : {6, 12, 16})
      for (const std::size_t rows : {std::size_t{1}, width - 1, width})
        for (const std::size_t kc : {1, 7, 8, 9, 16, 23, 392}) {
          CAPTURE(width);
          CAPTURE(rows);
          CAPTURE(kc);
          const std::size_t stride = kc + 3;
          const auto src = random_values(rows * stride, rng);
          std::vector<float> want(kc * width + 5, 7.0f), got = want;
          transpose_copy_generic(src.data(), stride, rows, kc, width, want.data());
          path.copy(src.data(), stride, rows, kc, width, got.data());
          CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
        }
  }
}

TEST_CASE("operands read in place give the bits of packed ones") {
  // Each shape's m is small enough for A's rows to be read in place
  // (including the swapped product Cᵀ = op(B)ᵀ·Aᵀ when B is transposed and
  // m < n), with ragged tiles in m and n, k in one to three blocks, and
  // leading dimensions wider than the matrices; B is read in place too
  // where m allows.
  ThreadsGuard guard;
  Rng rng(23);
  struct Path {
    Isa isa;
    MicroKernel kernel;
  };
  const std::size_t shapes[][3] = {{4, 5, 3},      {7, 13, 5},    {13, 40, 1100}, {29, 70, 400},
                                   {64, 256, 97},  {64, 10, 128}, {96, 33, 600},  {50, 20, 64},
                                   {250, 300, 70}, {200, 30, 40}};
  for (const Path path :
       {Path{Isa::generic, micro_kernel_generic()}, Path{Isa::avx2, micro_kernel_avx2()},
        Path{Isa::avx512, micro_kernel_avx512()}}) {
    if (!supported(KernelFamily::gemm, path.isa)) {
      MESSAGE("gemm path " << isa_name(path.isa) << " NOT TESTED: this CPU cannot run it");
      continue;
    }
    for (const auto& shape : shapes)
      for (const bool ta : {false, true})
        for (const bool tb : {false, true})
          for (const float beta : {0.0f, 1.0f, -0.5f})
            for (const bool parallel : {false, true}) {
              const std::size_t m = shape[0], n = shape[1], k = shape[2], pad = 3;
              INFO(product_name(path.isa, m, n, k, ta, tb));
              CAPTURE(beta);
              CAPTURE(parallel);
              const std::size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
              const auto a = random_values((ta ? k : m) * lda, rng);
              const auto b = random_values((tb ? n : k) * ldb, rng);
              const auto c0 = random_values(m * ldc, rng);
              auto packed = c0, in_place = c0;
              set_num_threads(parallel ? 2 : 1);
              const MatrixView op_a{a.data(), lda, ta}, op_b{b.data(), ldb, tb};
              gemm_blocked(path.kernel, op_a, op_b, m, n, k, beta, packed.data(), ldc, parallel,
                           InPlace::never);
              gemm_blocked(path.kernel, op_a, op_b, m, n, k, beta, in_place.data(), ldc, parallel,
                           InPlace::allowed);
              CHECK(std::memcmp(packed.data(), in_place.data(), c0.size() * sizeof(float)) == 0);
            }
  }
}

TEST_CASE("the AVX2 transposed tile merge writes the scalar merge's bytes") {
  if (!supported(KernelFamily::gemm, Isa::avx2)) {
    MESSAGE("merge_tile_transposed_avx2 NOT TESTED: this CPU cannot run it");
    return;
  }
  Rng rng(29);
  const std::size_t nr = 16, ldc = 11;  // C rows wider than a tile column, as in a real C
  for (const std::size_t rows : {1, 5, 6, 8})
    for (const std::size_t cols : {1, 7, 8, 9, 16})
      for (const float beta : {0.0f, 1.0f, -0.5f}) {
        CAPTURE(rows);
        CAPTURE(cols);
        CAPTURE(beta);
        const auto tile = random_values(8 * nr, rng);
        const auto c0 = random_values(nr * ldc, rng);
        auto want = c0, got = c0;
        merge_tile_transposed(tile.data(), nr, want.data(), ldc, rows, cols, beta);
        merge_tile_transposed_avx2(tile.data(), nr, got.data(), ldc, rows, cols, beta);
        CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
      }
}

TEST_CASE("gemm's epilogue sees every block of C once, already final, on every path") {
  // Each block the epilogue is handed is copied aside and counted per
  // element: afterwards every element must have been handed over exactly
  // once, with the value C ends with (so after the last k block and beta).
  // Shapes: row kernels (m <= 3, the last two with their columns split
  // across threads), a swapped X·Wᵀ (m < n), several k blocks, k = 0, wide
  // and tall products split across threads.
  ThreadsGuard guard;
  Rng rng(23);
  const std::size_t shapes[][3] = {{2, 50, 30}, {37, 130, 100}, {64, 256, 784}, {100, 90, 1100},
                                   {5, 7, 0},   {256, 300, 64}, {1, 256, 784},  {3, 300, 250}};
  for (Isa isa : test::paths_to_test(KernelFamily::gemm))
    for (const auto& shape : shapes)
      for (Transpose ta : {Transpose::no, Transpose::yes})
        for (Transpose tb : {Transpose::no, Transpose::yes})
          for (std::size_t threads : {1, 2}) {
            const std::size_t m = shape[0], n = shape[1], k = shape[2];
            INFO(product_name(isa, m, n, k, ta == Transpose::yes, tb == Transpose::yes));
            CAPTURE(threads);
            set_num_threads(threads);
            const auto a = random_values(std::max<std::size_t>(m * k, 1), rng);
            const auto b = random_values(std::max<std::size_t>(k * n, 1), rng);
            auto c = random_values(m * n, rng);
            const std::size_t lda = ta == Transpose::yes ? m : k;
            const std::size_t ldb = tb == Transpose::yes ? k : n;
            std::vector<float> seen(m * n, std::numeric_limits<float>::quiet_NaN());
            std::vector<std::atomic<int>> times(m * n);
            gemm(isa, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, 0.5f, c.data(), n,
                 [&](std::size_t row, std::size_t rows, std::size_t col, std::size_t cols) {
                   for (std::size_t i = row; i < row + rows; ++i)
                     for (std::size_t j = col; j < col + cols; ++j) {
                       seen[i * n + j] = c[i * n + j];
                       ++times[i * n + j];
                     }
                 });
            std::size_t not_once = 0, not_final = 0;
            for (std::size_t e = 0; e < m * n; ++e) {
              not_once += times[e] != 1;
              not_final += std::memcmp(&seen[e], &c[e], sizeof(float)) != 0;
            }
            CHECK(not_once == 0);
            CHECK(not_final == 0);
          }
}

TEST_CASE("gemm with k = 0 scales C by beta") {
  std::vector<float> c = {1.0f, 2.0f, std::numeric_limits<float>::quiet_NaN(), 4.0f};
  gemm(Transpose::no, Transpose::no, 1, 2, 0, nullptr, 1, nullptr, 2, 0.5f, c.data(), 2);
  CHECK(c[0] == 0.5f);
  CHECK(c[1] == 1.0f);
  gemm(Transpose::no, Transpose::no, 1, 2, 0, nullptr, 1, nullptr, 2, 0.0f, c.data() + 2, 2);
  CHECK(c[2] == 0.0f);
  CHECK(c[3] == 0.0f);
}

TEST_CASE("gemm gives the same bits for 1, 2 and 3 threads") {
  ThreadsGuard guard;
  Rng rng(5);
  // Wide (split by columns), tall (split by rows), the MLP's shapes, and
  // few-row products whose columns are split (batch-1 inference).
  const std::size_t shapes[][3] = {{70, 300, 200}, {500, 40, 300}, {64, 256, 784},
                                   {256, 784, 64}, {1, 256, 784},  {3, 1000, 100}};
  for (Isa isa : test::paths_to_test(KernelFamily::gemm)) {
    for (const auto& shape : shapes)
      for (Transpose ta : {Transpose::no, Transpose::yes})
        for (Transpose tb : {Transpose::no, Transpose::yes}) {
          const std::size_t m = shape[0], n = shape[1], k = shape[2];
          CAPTURE(std::string(isa_name(isa)));
          CAPTURE(m);
          CAPTURE(n);
          const auto a = random_values(m * k, rng), b = random_values(k * n, rng);
          const auto c0 = random_values(m * n, rng);
          const std::size_t lda = ta == Transpose::yes ? m : k;
          const std::size_t ldb = tb == Transpose::yes ? k : n;
          std::vector<std::vector<float>> results;
          for (std::size_t threads : {1, 2, 3}) {
            set_num_threads(threads);
            auto c = c0;
            gemm(isa, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, 1.0f, c.data(), n);
            results.push_back(c);
          }
          CHECK(results[0] == results[1]);
          CHECK(results[0] == results[2]);
        }
  }
}

TEST_CASE("matmul wrappers agree with gemm on the Dense shapes") {
  Rng rng(8);
  Tensor x({64, 784}), w({256, 784}), g({64, 256}), out;
  for (Tensor* t : {&x, &w, &g})
    for (float& v : t->values()) v = rng.uniform(-1.0f, 1.0f);
  std::vector<float> want(256 * 784);

  matmul_transposed_b(x, w, out);  // forward: X · Wᵀ
  gemm_reference(Transpose::no, Transpose::yes, 64, 256, 784, x.data(), 784, w.data(), 784, 0.0f,
                 want.data(), 256);
  for (std::size_t i = 0; i < 64 * 256; ++i) REQUIRE(std::fabs(out[i] - want[i]) < 1e-3f);

  matmul(g, w, out);  // backward: G · W
  gemm_reference(Transpose::no, Transpose::no, 64, 784, 256, g.data(), 256, w.data(), 784, 0.0f,
                 want.data(), 784);
  for (std::size_t i = 0; i < 64 * 784; ++i) REQUIRE(std::fabs(out[i] - want[i]) < 1e-3f);

  matmul_transposed_a(g, x, out);  // backward: Gᵀ · X
  gemm_reference(Transpose::yes, Transpose::no, 256, 784, 64, g.data(), 256, x.data(), 784, 0.0f,
                 want.data(), 784);
  for (std::size_t i = 0; i < 256 * 784; ++i) REQUIRE(std::fabs(out[i] - want[i]) < 1e-3f);
}

// A rate, not a speed claim: the chains must run and be counted on every
// path, and a wrong duration must be refused.
TEST_CASE("fma_peak_gflops measures a positive rate on every path and checks its duration") {
  for (const Isa isa : test::paths_to_test(KernelFamily::gemm)) {
    CAPTURE(isa_name(isa));
    const double gflops = fma_peak_gflops(isa, 0.01);
    CHECK(std::isfinite(gflops));
    CHECK(gflops > 0.0);
    CHECK_THROWS_AS(fma_peak_gflops(isa, 0.0), Error);
    CHECK_THROWS_AS(fma_peak_gflops(isa, std::numeric_limits<double>::quiet_NaN()), Error);
    CHECK_THROWS_AS(fma_peak_gflops(isa, 11.0), Error);
  }
}

TEST_CASE("instruction-set names round-trip") {
  for (Isa isa : all_isas) CHECK(parse_isa(isa_name(isa)) == isa);
  CHECK_FALSE(parse_isa("sse9").has_value());
}

TEST_CASE("every family supports generic, and active_isa picks a supported path") {
  for (KernelFamily family :
       {KernelFamily::gemm, KernelFamily::widen_gemm, KernelFamily::int8_gemm}) {
    CAPTURE(family_name(family));
    CHECK(supported(family, Isa::generic));
    CHECK(supported(family, active_isa(family)));
    for (Isa isa : all_isas)
      if (!supported(family, isa)) CHECK_THROWS_AS(require_supported(family, isa), Error);
  }
}

TEST_CASE("TINYQ_ISA, when set, picks the path of every kernel family") {
  // CI runs the suite with TINYQ_ISA=generic and =avx2 (.ci/run): then every
  // layer, the training and the quantized kernels use that path.
  const char* name = std::getenv("TINYQ_ISA");
  const std::array families = {KernelFamily::gemm, KernelFamily::widen_gemm,
                               KernelFamily::int8_gemm};
  if (name == nullptr || *name == '\0') {
    for (const KernelFamily family : families) {
      MESSAGE("TINYQ_ISA is not set: " << family_name(family) << " runs "
                                       << isa_name(active_isa(family)));
      CHECK(active_isa(family) == supported_isas(family).back());  // the widest
    }
    return;
  }
  const auto isa = parse_isa(name);
  REQUIRE_MESSAGE(isa.has_value(), "TINYQ_ISA=" << std::string(name) << " names no path");
  for (const KernelFamily family : families) CHECK(active_isa(family) == *isa);
}
