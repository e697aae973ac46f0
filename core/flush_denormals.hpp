// FlushDenormals: while one is alive, this thread's float arithmetic treats
// subnormal (denormal) numbers as zero, on input and on output.
//
// A float below 2^-126 ≈ 1.18e-38 in magnitude is subnormal. Intel cores
// handle an instruction that reads or produces one in microcode, a hundred or
// more cycles for the whole vector, where the normal path takes a few (AMD's
// Zen cores do it in hardware at full speed). Training produces them in one
// place: the SGD velocity of a weight whose gradient stays exactly zero (its
// hidden unit inactive for the whole batch, batch after batch) decays as
// v ← μ·v, 0.9^k, down through the subnormal range over ~150 steps. On
// Fashion-MNIST about 7% of the first layer's velocities are subnormal at
// any step, and the update of that one tensor cost the step more than all
// three forward products.
//
// On x86 this sets the MXCSR register's two flags, DAZ (bit 6: subnormal
// inputs read as ±0) and FTZ (bit 15: subnormal results written as ±0), and
// restores the caller's register on destruction, so nothing outside the
// scope changes. Elsewhere it does nothing. Not inline-safe against the
// compiler moving float operations across it: put the arithmetic it should
// cover in a function called inside the scope.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace tinyq {

class FlushDenormals {
 public:
#if defined(__x86_64__) || defined(__i386__)
  FlushDenormals() : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | denormals_are_zero | flush_to_zero);
  }
  ~FlushDenormals() {
    _mm_setcsr(saved_);
  }

 private:
  static constexpr unsigned denormals_are_zero = 1u << 6;
  static constexpr unsigned flush_to_zero = 1u << 15;
  unsigned saved_;
#else
  FlushDenormals() = default;
#endif

 public:
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

}  // namespace tinyq
