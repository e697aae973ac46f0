// What the AVX-512 VNNI kernels (int8_gemm_avx512.cpp,
// lowbit_int_gemm_avx512.cpp) share: their target attribute and the one
// instruction they are built around. Internal to core, x86 only (those
// files include it inside their x86 branch).
#pragma once

#include <immintrin.h>

#define TINYQ_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")))
#define TINYQ_AVX512_VNNI_INLINE \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma"), always_inline))

namespace tinyq {

// acc + Σ_{t<4} u8(x[4j+t]) · s8(w[4j+t]) in each of the 16 int32 lanes j:
// vpdpbusd, which overwrites its accumulator.
//
// Why not _mm512_dpbusd_epi32: with a tile of accumulators carried around a
// loop, g++ 12 gives each sum one register before the instruction and
// another after it, and copies every sum back at every k-group (24 vmovdqa
// beside 12 vpdpbusd in the 6 × 2 tile). The asm operand "+v" says the sum
// is read and written in place, so the sums stay put. Dynamic int8, whole
// test set, 2 threads, Zen 5, 15 alternated rounds in one process: 0.85 of
// the time on Fashion-MNIST, 0.88 on mnist-10k (clang never copied them).
TINYQ_AVX512_VNNI_INLINE inline __m512i dpbusd(__m512i acc, __m512i x, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w));
  return acc;
}

}  // namespace tinyq
