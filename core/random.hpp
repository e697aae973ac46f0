// A small seeded random generator whose output is the same on every machine
// and standard library.
//
// Why not <random>'s distributions? std::uniform_real_distribution,
// std::normal_distribution and std::shuffle are allowed to differ between
// libstdc++, libc++ and MSVC, so "same seed, same model" would only hold on
// one toolchain. Here every step is integer arithmetic we spell out:
//
//   seed --splitmix64--> 256-bit state --xoshiro256**--> 64-bit words
//
// xoshiro256** (Blackman & Vigna, 2018) is fast, passes BigCrush, and its
// whole definition is the five lines of next_u64().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace tinyq {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next_u64();

  // Uniform in [0, 1): the top 24 bits of a word, so every float it returns
  // is exactly representable and the same everywhere.
  float uniform();
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), without modulo bias (n > 0).
  std::uint64_t below(std::uint64_t n);

  // Fisher-Yates: every permutation equally likely, same order for the same seed.
  template <class T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(below(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  std::uint64_t state_[4];
};

}  // namespace tinyq
