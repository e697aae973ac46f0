// Pieces the AVX2 int8 kernels share (internal to core). Storing a tile of
// int32 sums: R rows of 16 outputs, each row in two 256-bit registers, or
// one row's P panels side by side. A full panel goes straight to C; the
// last, narrower one through a buffer, so that columns past `cols` are never
// written. And walking a row's list of nonzero words. x86 only (empty
// elsewhere).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/kernels/int8_gemm.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

namespace tinyq {

// One panel's 16 sums (two registers) to c[0 .. cols).
__attribute__((target("avx2"))) inline void store_int32_panel(const __m256i (&acc)[2],
                                                              std::int32_t* c, std::size_t cols) {
  if (cols >= int8_panel_columns) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), acc[0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + 8), acc[1]);
  } else {
    alignas(32) std::int32_t sums[int8_panel_columns];
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums), acc[0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8), acc[1]);
    std::copy(sums, sums + cols, c);
  }
}

// One row's P panels side by side to c[0 .. cols) (cols > 16 · (P - 1)).
template <std::size_t P>
__attribute__((target("avx2"))) inline void store_int32_panels(const __m256i (&acc)[P][2],
                                                               std::int32_t* c, std::size_t cols) {
  for (std::size_t q = 0; q < P; ++q)
    store_int32_panel(acc[q], c + q * int8_panel_columns,
                      std::min(int8_panel_columns, cols - q * int8_panel_columns));
}

// step(list[t]) for t < count, for a one-row kernel summing P panels per
// pass: one panel's step does little, so its loop is unrolled further.
// Forced inline, so that step's sums stay in registers (and compiled for
// the kernels' own target, avx2 and fma, so that their steps inline).
template <std::size_t P, class Step>
__attribute__((target("avx2,fma"), always_inline)) inline void walk_list(const std::uint32_t* list,
                                                                         std::size_t count,
                                                                         Step&& step) {
  if constexpr (P == 1) {
#pragma GCC unroll 4
    for (std::size_t t = 0; t < count; ++t) step(list[t]);
  } else {
#pragma GCC unroll 2
    for (std::size_t t = 0; t < count; ++t) step(list[t]);
  }
}

template <std::size_t R>
__attribute__((target("avx2"))) inline void store_int32_tile(const __m256i (&acc)[R][2],
                                                             std::int32_t* c, std::size_t ldc,
                                                             std::size_t cols) {
  for (std::size_t r = 0; r < R; ++r) store_int32_panel(acc[r], c + r * ldc, cols);
}

}  // namespace tinyq

#endif
