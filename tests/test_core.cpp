#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/flush_denormals.hpp"
#include "core/kernels/gemm.hpp"
#include "core/random.hpp"
#include "core/tensor.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

TEST_CASE("tensor storage is 64-byte aligned and zero-filled") {
  Tensor t({3, 5});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  CHECK(t.size() == 15);
  for (float v : t.values()) CHECK(v == 0.0f);
}

TEST_CASE("tensor copies are deep") {
  Tensor a({2, 2}, std::vector<float>{1, 2, 3, 4});
  Tensor b = a;
  b(0, 0) = 9;
  CHECK(a(0, 0) == 1);
  CHECK(b(0, 0) == 9);
}

TEST_CASE("tensor rejects rank 0 and rank 5 shapes and mis-sized values") {
  CHECK_THROWS_AS(Tensor(Shape{1, 2, 3, 4, 5}), Error);
  CHECK_THROWS_AS(Tensor({2, 2}, std::vector<float>{1, 2, 3}), Error);
}

TEST_CASE("tensor resize keeps the allocation when it fits") {
  Tensor t({10, 10});
  const float* before = t.data();
  t.resize({5, 7});
  CHECK(t.data() == before);
  CHECK(t.shape() == Shape{5, 7});
}

namespace {
// Out of line and through volatiles, so the compiler can neither fold the
// product nor move it out of the FlushDenormals scope.
[[gnu::noinline]] float product(float a, float b) {
  volatile float x = a, y = b;
  return x * y;
}
}  // namespace

TEST_CASE("FlushDenormals zeroes subnormal results in its scope and restores the mode after") {
  const float tiny = std::ldexp(1.0f, -100), subnormal = std::ldexp(1.0f, -130);
  CHECK(product(tiny, std::ldexp(1.0f, -30)) == subnormal);
  {
    const FlushDenormals flush;
#if defined(__x86_64__) || defined(__i386__)
    CHECK(product(tiny, std::ldexp(1.0f, -30)) == 0.0f);
    CHECK(product(subnormal, 2.0f) == 0.0f);  // a subnormal input reads as 0
#endif
    CHECK(product(tiny, std::ldexp(1.0f, -20)) == std::ldexp(1.0f, -120));
  }
  CHECK(product(tiny, std::ldexp(1.0f, -30)) == subnormal);
  CHECK(product(subnormal, 2.0f) == std::ldexp(1.0f, -129));
}

TEST_CASE("rng gives the same known words for the same seed") {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) CHECK(a.next_u64() == b.next_u64());
  Rng c(43);
  CHECK(Rng(42).next_u64() != c.next_u64());
}

TEST_CASE("rng words are those of splitmix64-seeded xoshiro256** for fixed seeds") {
  // Computed independently from the published definitions (Vigna), in
  // Python; any change to seeding or the generator changes every model.
  const std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>> known = {
      {0, {0x99ec5f36cb75f2b4, 0xbf6e1f784956452a, 0x1a5f849d4933e6e0}},
      {42, {0x15780b2e0c2ec716, 0x6104d9866d113a7e, 0xae17533239e499a1}},
      {0xffffffffffffffff, {0x8f5520d52a7ead08, 0xc476a018caa1802d, 0x81de31c0d260469e}},
  };
  for (const auto& entry : known) {
    const std::uint64_t seed = entry.first;
    CAPTURE(seed);
    Rng rng(seed);
    for (const std::uint64_t word : entry.second) CHECK(rng.next_u64() == word);
  }
  // uniform() is the top 24 bits over 2^24; below(10) the word mod 10.
  Rng u(7);
  CHECK(u.uniform() == 11753722 * 0x1.0p-24f);
  CHECK(u.uniform() == 4676669 * 0x1.0p-24f);
  CHECK(u.uniform() == 14086611 * 0x1.0p-24f);
  Rng b(7);
  for (const std::uint64_t expected : {4u, 4u, 8u, 4u, 4u}) CHECK(b.below(10) == expected);
}

TEST_CASE("rng uniform stays in [0, 1) and below(n) stays below n") {
  Rng rng(7);
  for (int i = 0; i < 10000; ++i) {
    const float u = rng.uniform();
    CHECK(u >= 0.0f);
    CHECK(u < 1.0f);
    CHECK(rng.below(10) < 10);
  }
}

TEST_CASE("rng shuffle is a permutation") {
  Rng rng(1);
  std::vector<int> v(50);
  for (int i = 0; i < 50; ++i) v[i] = i;
  rng.shuffle(std::span<int>(v));
  std::vector<int> seen(50, 0);
  for (int x : v) seen[x]++;
  for (int s : seen) CHECK(s == 1);
}

namespace {

void check_close(const Tensor& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-4));
}

}  // namespace

TEST_CASE("matrix products match the triple loop on odd shapes") {
  Rng rng(3);
  const std::size_t shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {1, 33, 17}, {65, 3, 31}, {19, 64, 1}};
  for (const auto& shape : shapes) {
    const std::size_t m = shape[0], k = shape[1], n = shape[2];  // clang 14 cannot CAPTURE bindings
    CAPTURE(m);
    CAPTURE(k);
    CAPTURE(n);
    Tensor a = test::random_tensor(Shape{m, k}, rng), at = test::random_tensor(Shape{k, m}, rng);
    Tensor b = test::random_tensor(Shape{k, n}, rng), bt = test::random_tensor(Shape{n, k}, rng);
    Tensor out;
    std::vector<float> want(m * n);

    matmul(a, b, out);
    gemm_reference(Transpose::no, Transpose::no, m, n, k, a.data(), k, b.data(), n, 0.0f,
                   want.data(), n);
    check_close(out, want);

    matmul_transposed_b(a, bt, out);
    gemm_reference(Transpose::no, Transpose::yes, m, n, k, a.data(), k, bt.data(), k, 0.0f,
                   want.data(), n);
    check_close(out, want);

    matmul_transposed_a(at, b, out);
    gemm_reference(Transpose::yes, Transpose::no, m, n, k, at.data(), m, b.data(), n, 0.0f,
                   want.data(), n);
    check_close(out, want);
  }
}

TEST_CASE("matrix products refuse mismatched inner dimensions") {
  Tensor a({2, 3}), b({4, 5}), out;
  CHECK_THROWS_AS(matmul(a, b, out), Error);
  CHECK_THROWS_AS(matmul_transposed_b(a, b, out), Error);
  CHECK_THROWS_AS(matmul_transposed_a(a, b, out), Error);
}
