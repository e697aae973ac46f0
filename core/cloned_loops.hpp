// Loops compiled for several x86 instruction sets and picked at load time,
// each rounding exactly as the baseline build does.
//
// The library is built for baseline x86-64, 4 floats per vector
// instruction. A float loop that runs once per element of a layer (a
// rescale, an optimizer update) gains from wider vectors, so it is marked
// TINYQ_CLONED: g++ and clang compile it once per target (AVX-512: 16 floats
// per instruction, AVX2: 8, baseline) and the loader picks the best the CPU
// has.
//
// Every clone must give the baseline's bits. Target avx512f implies FMA,
// and g++ then fuses a product and a sum into one rounding where the
// baseline rounds twice (an AVX-512 machine gave other outputs than the
// others until that was switched off), so contraction is off: for g++
// between TINYQ_EXACT_CLONES_BEGIN and TINYQ_EXACT_CLONES_END, for clang by
// TINYQ_NO_CONTRACT at the top of each body.
//
//   TINYQ_EXACT_CLONES_BEGIN
//   TINYQ_CLONED void scale(float* y, std::size_t n, float a, float b) {
//     TINYQ_NO_CONTRACT
//     for (std::size_t j = 0; j < n; ++j) y[j] = a * y[j] + b;
//   }
//   TINYQ_EXACT_CLONES_END
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#define TINYQ_EXACT_CLONES_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define TINYQ_EXACT_CLONES_END _Pragma("GCC pop_options")
#else
#define TINYQ_EXACT_CLONES_BEGIN
#define TINYQ_EXACT_CLONES_END
#endif

#if defined(__clang__)
#define TINYQ_NO_CONTRACT _Pragma("STDC FP_CONTRACT OFF")
#else
#define TINYQ_NO_CONTRACT
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define TINYQ_CLONED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TINYQ_CLONED
#endif
