// AlignedAllocator<T, A>: a std::allocator whose storage starts on an
// A-byte boundary, for std::vector<T, AlignedAllocator<T, 64>>.
//
// Why: a 64-byte row that starts mid cache line touches two lines, and
// malloc only promises 16 bytes. The AMX tile loads
// (core/kernels/int8_gemm_amx.cpp) read 16 such rows per instruction: with
// the packed weights and the activation rows both off their lines a 48 ×
// 768 × 256 product ran at 0.42 of its speed with both on them (one core,
// Intel Xeon). The VNNI kernels load the same 64-byte k-groups: with the
// packed weights aligned, batch-1 dynamic int8 went from 3.1-3.2 to
// 2.3-2.4 µs per Fashion-MNIST image on that machine, static 2.4 to 1.5.
#pragma once

#include <cstddef>
#include <new>

namespace tinyq {

template <class T, std::size_t Alignment>
struct AlignedAllocator {
  using value_type = T;
  static_assert(Alignment >= alignof(T) && (Alignment & (Alignment - 1)) == 0);

  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>&) noexcept {}  // NOLINT: rebinding
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };

  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{Alignment}));
  }
  void deallocate(T* p, std::size_t) noexcept {
    ::operator delete (p, std::align_val_t{Alignment});
  }

  template <class U>
  bool operator==(const AlignedAllocator<U, Alignment>&) const noexcept {
    return true;
  }
};

}  // namespace tinyq
