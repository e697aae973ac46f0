// The instruction-set paths a kernel test runs: every one this CPU can run.
// A path the CPU lacks is reported in the test's output, never skipped in
// silence, so a log from a machine without AVX-512 says what it left out.
#pragma once

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/kernels/isa.hpp"

namespace tinyq::test {

// The paths of `family` this CPU runs; each one it cannot is named in the
// test's output.
inline std::vector<Isa> paths_to_test(KernelFamily family) {
  std::vector<Isa> paths;
  for (const Isa isa : all_isas) {
    if (supported(family, isa))
      paths.push_back(isa);
    else
      MESSAGE(family_name(family) << " path " << std::string(isa_name(isa))
                                  << " NOT TESTED: this CPU cannot run it (run the suite on one "
                                     "that can)");
  }
  return paths;
}

}  // namespace tinyq::test
