// The instruction-set paths a kernel test runs: every one this CPU can run.
// A path the CPU lacks is reported in the test's output, never skipped in
// silence, so a log from a machine without AVX-512 says what it left out.
#pragma once

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/kernels/cpu_features.hpp"

namespace tinyq::test {

// `kernel` names the kernel family in the message ("gemm", "int8_gemm"...);
// `runs` says whether this CPU can run a path of it.
template <class Supported>
std::vector<Isa> paths_to_test(const std::string& kernel, Supported runs) {
  std::vector<Isa> paths;
  for (const Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (runs(isa))
      paths.push_back(isa);
    else
      MESSAGE(kernel << " path " << std::string(isa_name(isa))
                     << " NOT TESTED: this CPU cannot run it (run the suite on one that can)");
  }
  return paths;
}

}  // namespace tinyq::test
