// Which instruction-set path each kernel family runs: one policy for all.
//
// Every kernel family has one path per Isa, all compiled into every build
// (per-function target attributes), so one binary runs everywhere. Each
// family keeps its paths in one IsaTable in its .cpp. What a path needs from
// the processor (and, for the wide registers, from the operating system):
//
//                 generic   avx2        avx512
//   gemm          -         AVX2, FMA   AVX-512 F, BW, DQ, VL
//   widen_gemm    -         AVX2, FMA   AVX-512 F, BW, DQ, VL
//   int8_gemm     -         AVX2, FMA   AVX-512 F, BW, DQ, VL and VNNI
//                                       (+ AMX-INT8 tiles where offered,
//                                       int8_gemm.hpp; same integers)
//
// The path a family runs (active_isa) is the one the environment variable
// TINYQ_ISA names (generic, avx2 or avx512), when it is set and not empty;
// otherwise the widest the CPU supports for that family. TINYQ_ISA is read
// once per process. An unknown name, or a path this CPU cannot run, is an
// Error at the first kernel call that asks, never a silent fallback: a run
// that forces a path must really run it.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace tinyq {

// Instruction-set paths, narrowest first.
enum class Isa { generic, avx2, avx512 };
inline constexpr std::array<Isa, 3> all_isas = {Isa::generic, Isa::avx2, Isa::avx512};

enum class KernelFamily {
  gemm,        // float products (core/kernels/gemm.hpp)
  widen_gemm,  // float times int8 weights (core/kernels/widen_gemm.hpp)
  int8_gemm,   // u8 times s8, int32 sums (core/kernels/int8_gemm.hpp)
};

const char* isa_name(Isa isa);  // "generic", "avx2", "avx512"
std::optional<Isa> parse_isa(std::string_view name);
const char* family_name(KernelFamily family);  // "gemm", "widen_gemm", "int8_gemm"

// True when this CPU can run `family`'s path `isa` (generic: always).
bool supported(KernelFamily family, Isa isa);
// The supported paths of `family`, narrowest first (for tests and benchmarks).
std::vector<Isa> supported_isas(KernelFamily family);
// Throws Error naming the family, the path and what it needs when this CPU
// cannot run it. Every kernel entry that takes an Isa calls it.
void require_supported(KernelFamily family, Isa isa);

// The path `family` runs, by the rule above. Throws Error on a bad TINYQ_ISA.
Isa active_isa(KernelFamily family);

// One kernel family's paths, one entry per Isa.
template <class Path>
class IsaTable {
 public:
  IsaTable(Path generic, Path avx2, Path avx512) : paths_{generic, avx2, avx512} {}
  const Path& operator[](Isa isa) const { return paths_[static_cast<std::size_t>(isa)]; }

 private:
  std::array<Path, all_isas.size()> paths_;
};

}  // namespace tinyq
