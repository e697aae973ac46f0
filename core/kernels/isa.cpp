// The instruction-set policy: what the CPU offers (asked once), what each
// family's paths need from it, and TINYQ_ISA (read once).
#include "core/kernels/isa.hpp"

#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace tinyq {

namespace {

constexpr std::size_t family_count = 3;

// The processor features the paths use. __builtin_cpu_supports reads CPUID
// (and, in current GCC and Clang runtimes, checks that the operating system
// saves the wide registers on a context switch).
struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;  // F, BW, DQ and VL
  bool avx512_vnni = false;
};

CpuFeatures detect_cpu() {
  CpuFeatures cpu;
#if defined(__x86_64__) || defined(__i386__)
  cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  cpu.avx512 = cpu.avx2_fma && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  cpu.avx512_vnni = cpu.avx512 && __builtin_cpu_supports("avx512vnni");
#endif
  return cpu;
}

// The table at the top of isa.hpp, as code.
bool needs_met(const CpuFeatures& cpu, KernelFamily family, Isa isa) {
  switch (isa) {
    case Isa::generic:
      return true;
    case Isa::avx2:
      return cpu.avx2_fma;
    case Isa::avx512:
      return family == KernelFamily::int8_gemm ? cpu.avx512_vnni : cpu.avx512;
  }
  return false;
}

const char* needs_text(KernelFamily family, Isa isa) {
  switch (isa) {
    case Isa::generic:
      return "nothing";
    case Isa::avx2:
      return "AVX2 and FMA";
    case Isa::avx512:
      return family == KernelFamily::int8_gemm ? "AVX-512 F, BW, DQ, VL and VNNI"
                                               : "AVX-512 F, BW, DQ and VL";
  }
  return "?";
}

using SupportTable = std::array<std::array<bool, all_isas.size()>, family_count>;

const SupportTable& support() {
  static const SupportTable table = [] {
    const CpuFeatures cpu = detect_cpu();
    SupportTable t{};
    for (std::size_t f = 0; f < family_count; ++f)
      for (Isa isa : all_isas)
        t[f][static_cast<std::size_t>(isa)] = needs_met(cpu, static_cast<KernelFamily>(f), isa);
    return t;
  }();
  return table;
}

std::string unsupported_message(KernelFamily family, Isa isa) {
  std::string can_run;
  for (Isa other : supported_isas(family))
    can_run += std::string(can_run.empty() ? "" : ", ") + isa_name(other);
  return std::string("this CPU cannot run the ") + isa_name(isa) + " path of " +
         family_name(family) + " (it needs " + needs_text(family, isa) + "; supported: " + can_run +
         ")";
}

// Each family's choice, or the error that asking for it reports.
struct Choice {
  Isa isa = Isa::generic;
  std::string error;  // empty when isa is usable
};

std::array<Choice, family_count> choose_from_environment() {
  std::array<Choice, family_count> choices;
  const char* name = std::getenv("TINYQ_ISA");
  const bool forced = name != nullptr && *name != '\0';
  const std::optional<Isa> requested = forced ? parse_isa(name) : std::nullopt;
  for (std::size_t f = 0; f < family_count; ++f) {
    const auto family = static_cast<KernelFamily>(f);
    Choice& choice = choices[f];
    if (!forced) {
      choice.isa = supported_isas(family).back();
    } else if (!requested) {
      std::string valid;
      for (Isa isa : all_isas) valid += std::string(valid.empty() ? "" : ", ") + isa_name(isa);
      choice.error = std::string("TINYQ_ISA=") + name +
                     ": unknown instruction set, expected one of " + valid +
                     " (or unset: the widest this CPU supports)";
    } else if (!supported(family, *requested)) {
      choice.error =
          std::string("TINYQ_ISA=") + name + ": " + unsupported_message(family, *requested);
    } else {
      choice.isa = *requested;
    }
  }
  return choices;
}

}  // namespace

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
  for (Isa isa : all_isas)
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

const char* family_name(KernelFamily family) {
  switch (family) {
    case KernelFamily::gemm:
      return "gemm";
    case KernelFamily::widen_gemm:
      return "widen_gemm";
    case KernelFamily::int8_gemm:
      return "int8_gemm";
  }
  return "?";
}

bool supported(KernelFamily family, Isa isa) {
  return support()[static_cast<std::size_t>(family)][static_cast<std::size_t>(isa)];
}

std::vector<Isa> supported_isas(KernelFamily family) {
  std::vector<Isa> isas;
  for (Isa isa : all_isas)
    if (supported(family, isa)) isas.push_back(isa);
  return isas;
}

void require_supported(KernelFamily family, Isa isa) {
  if (!supported(family, isa))
    throw Error(family_name(family) + std::string(": ") + unsupported_message(family, isa));
}

Isa active_isa(KernelFamily family) {
  static const std::array<Choice, family_count> choices = choose_from_environment();
  const Choice& choice = choices[static_cast<std::size_t>(family)];
  if (!choice.error.empty()) throw Error(choice.error);
  return choice.isa;
}

}  // namespace tinyq
