// train_mnist's quantization-aware training options: --qat-bits and the
// options that refine it, read into a QatConfig (quant/qat.hpp).
#pragma once

#include <optional>

#include "apps/options.hpp"
#include "quant/qat.hpp"

namespace tinyq {

void add_qat_options(Options& options);

// nullopt without --qat-bits. Throws UsageError for a --qat-* option given
// without --qat-bits, a bit width outside 1.58 (ternary) and 2..8, a scheme
// that contradicts it, or a group size that is not a power of two >= 16.
std::optional<QatConfig> qat_config(const Options& options);

}  // namespace tinyq
