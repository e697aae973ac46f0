// CPU feature detection. __builtin_cpu_supports reads CPUID once (and, in
// current GCC and Clang runtimes, checks that the OS saves the wide
// registers on a context switch), so these calls are cheap.
#include "core/kernels/cpu_features.hpp"

namespace tinyq {

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return cpu_supports(Isa::avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
#else
    default:
      return false;
#endif
  }
  return false;
}

Isa best_supported_isa() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2)) return Isa::avx2;
  return Isa::generic;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return "generic";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

}  // namespace tinyq
