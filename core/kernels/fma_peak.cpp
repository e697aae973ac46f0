// Independent multiply-add chains, one loop per instruction set.
//
// Each chain is acc ← acc · x + y. An FMA takes 4 cycles on current x86
// cores and two can start per cycle, so at least 8 chains must be in flight
// to keep both units busy; each loop runs more (24 on AVX-512, 12 on AVX2,
// whose 16 registers must also hold x and y). x is laundered through an
// empty asm statement at every round: the compiler can no longer prove the
// chains alike (g++ otherwise kept one chain in the loop and finished the
// others after it) nor hoist anything, and the loop stays as written.
#include "core/kernels/fma_peak.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/thread_pool.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tinyq {

namespace {

constexpr std::uint64_t rounds_per_block = 1 << 16;

struct ChainLoop {
  float (*run)(std::uint64_t rounds);  // returns the chains' sum, so nothing is dead code
  double flop_per_round;
};

#if defined(__x86_64__) || defined(__i386__)

__attribute__((target("avx512f"))) float chains_avx512(std::uint64_t rounds) {
  constexpr int chains = 24;
  __m512 acc[chains];
  __m512 x = _mm512_set1_ps(0.999f);
  const __m512 y = _mm512_set1_ps(1e-6f);
  for (int i = 0; i < chains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (std::uint64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 24
    for (int i = 0; i < chains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    asm volatile("" : "+v"(x));
  }
  alignas(64) float lanes[16];
  float sum = 0.0f;
  for (int i = 0; i < chains; ++i) {
    _mm512_store_ps(lanes, acc[i]);
    for (const float v : lanes) sum += v;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float chains_avx2(std::uint64_t rounds) {
  constexpr int chains = 12;
  __m256 acc[chains];
  __m256 x = _mm256_set1_ps(0.999f);
  const __m256 y = _mm256_set1_ps(1e-6f);
  for (int i = 0; i < chains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (std::uint64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < chains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    asm volatile("" : "+x"(x));
  }
  alignas(32) float lanes[8];
  float sum = 0.0f;
  for (int i = 0; i < chains; ++i) {
    _mm256_store_ps(lanes, acc[i]);
    for (const float v : lanes) sum += v;
  }
  return sum;
}

// Baseline SSE: a multiply and a separate add (no FMA before AVX2), which
// the generic gemm's compiled loops also do.
float chains_generic(std::uint64_t rounds) {
  constexpr int chains = 12;
  __m128 acc[chains];
  __m128 x = _mm_set1_ps(0.999f);
  const __m128 y = _mm_set1_ps(1e-6f);
  for (int i = 0; i < chains; ++i) acc[i] = _mm_set1_ps(static_cast<float>(i));
  for (std::uint64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < chains; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], x), y);
    asm volatile("" : "+x"(x));
  }
  alignas(16) float lanes[4];
  float sum = 0.0f;
  for (int i = 0; i < chains; ++i) {
    _mm_store_ps(lanes, acc[i]);
    for (const float v : lanes) sum += v;
  }
  return sum;
}

// Each loop and the floating-point operations of one of its rounds.
const IsaTable<ChainLoop>& chain_loops() {
  static const IsaTable<ChainLoop> loops(
      {chains_generic, 12.0 * 4 * 2}, {chains_avx2, 12.0 * 8 * 2}, {chains_avx512, 24.0 * 16 * 2});
  return loops;
}

#else

// Elsewhere: one float chain per lane of a plain loop, the compiler's best,
// for every path.
float chains_plain(std::uint64_t rounds) {
  float acc[12];
  volatile float x_source = 0.999f;
  const float x = x_source, y = 1e-6f;
  for (int i = 0; i < 12; ++i) acc[i] = static_cast<float>(i);
  for (std::uint64_t r = 0; r < rounds; ++r)
    for (float& a : acc) a = a * x + y;
  float sum = 0.0f;
  for (const float a : acc) sum += a;
  return sum;
}

const IsaTable<ChainLoop>& chain_loops() {
  static const IsaTable<ChainLoop> loops({chains_plain, 12.0 * 2}, {chains_plain, 12.0 * 2},
                                         {chains_plain, 12.0 * 2});
  return loops;
}

#endif

}  // namespace

double fma_peak_gflops(Isa isa, double seconds) {
  require_supported(KernelFamily::gemm, isa);
  if (!(seconds > 0.0 && seconds <= 10.0))
    throw Error("fma_peak_gflops: seconds must be in (0, 10], found " + std::to_string(seconds));
  using Clock = std::chrono::steady_clock;
  const ChainLoop& loop = chain_loops()[isa];
  const std::size_t threads = num_threads();
  std::vector<double> rates(threads, 0.0);
  std::vector<float> sums(threads, 0.0f);
  parallel_for(threads, 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t t = begin; t < end; ++t) {
      sums[t] += loop.run(rounds_per_block);  // warm-up: clocks up, code paged in
      std::uint64_t rounds = 0;
      const auto start = Clock::now();
      double elapsed = 0.0;
      do {
        sums[t] += loop.run(rounds_per_block);
        rounds += rounds_per_block;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      } while (elapsed < seconds);
      rates[t] = static_cast<double>(rounds) * loop.flop_per_round / elapsed * 1e-9;
    }
  });
  double total = 0.0, checksum = 0.0;
  for (std::size_t t = 0; t < threads; ++t) {
    total += rates[t];
    checksum += sums[t];
  }
  // The chains' values are used, so no compiler may drop the loops.
  asm volatile("" : : "r"(&checksum) : "memory");
  return total;
}

}  // namespace tinyq
