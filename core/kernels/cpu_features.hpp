// Which vector instruction sets this CPU offers, asked at run time.
//
// The kernels for AVX2 and AVX-512 are compiled into every build (with
// per-function target attributes), so one binary runs everywhere and picks
// the widest path the processor and operating system support.
#pragma once

#include <optional>
#include <string_view>

namespace tinyq {

// Instruction-set paths of the float kernels, narrowest first.
enum class Isa { generic, avx2, avx512 };

// True when this CPU can run `isa` (generic: always). AVX2 here means
// AVX2 + FMA; AVX-512 means the F, BW, DQ and VL subsets.
bool cpu_supports(Isa isa);

// The widest Isa this CPU supports.
Isa best_supported_isa();

const char* isa_name(Isa isa);  // "generic", "avx2", "avx512"
std::optional<Isa> parse_isa(std::string_view name);

}  // namespace tinyq
