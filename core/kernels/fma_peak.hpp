// The machine's float multiply-add peak: the rate no float kernel can pass.
//
// train_fraction_of_peak divides training's FLOP/s by tinyq's own 1024³
// gemm rate. This is the bar above that one: independent chains of fused
// multiply-adds on registers alone, nothing loaded or stored, so only the
// FMA units limit them. On the 2-core Zen 5 of the README the gemm kernel
// runs at 0.99 of it in L1 and the 1024³ cube at about 0.88: a float kernel
// that does the same multiply-adds as another (float activations times
// dequantized weights, say) cannot run much faster than it, whatever its
// operands' width in memory.
#pragma once

#include "core/kernels/isa.hpp"

namespace tinyq {

// GFLOP/s (a multiply-add counts as two, as in gemm's rate) that all of the
// pool's threads reach together, each running independent FMA chains on
// the gemm family's path `isa` (16 floats per instruction on avx512, 8 on
// avx2; generic: baseline SSE, 4 floats, a multiply and an add) for about
// `seconds`. The sum of the threads' own rates, each timed on its thread.
// Throws Error when this CPU cannot run `isa`, or for seconds outside
// (0, 10].
double fma_peak_gflops(Isa isa, double seconds);

}  // namespace tinyq
