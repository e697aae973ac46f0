// quantize_eval's options: the list --help prints, and the one quantized
// format (scheme, granularity, bits, grid, method and its settings) they
// describe when any of them is given. The static int8 options are in
// static_int8_eval.hpp.
#pragma once

#include "apps/options.hpp"
#include "quant/scheme.hpp"

namespace tinyq {

// Every option but --activations and its companions, and --threads.
void add_quantize_options(Options& options);

// Whether any option that describes one quantized format was given (else
// quantize_eval runs its default sweep, or evaluates a quantized model as
// it is).
bool asks_for_one_format(const Options& options);

// The format and method those options describe. With for_budget (--budget,
// mixed precision) the scheme defaults to asymmetric. Throws UsageError for
// a value out of range: a group size that is not a power of two >= 16,
// --bits other than 1.58 with the ternary scheme, --refits without GPTQ.
QuantConfig one_format_config(const Options& options, bool for_budget);

}  // namespace tinyq
