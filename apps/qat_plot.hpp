// The figure of quantization-aware training: how the weights sit on their
// grid before and after it.
#pragma once

#include <string>

#include "nn/sequential.hpp"

namespace tinyq {

// For each FakeQuantDense of the two models (the same architecture: the QAT
// model at the start and at the end of training), a histogram of its
// weights' places on their blocks' grids in steps (quant/fake_quant_dense.hpp:
// every block's grid maps to the same integer codes, so all rows share one
// axis), with the codes drawn as lines; before on the left, after on the right.
std::string plot_qat_weights(const Sequential& before, const Sequential& after);

}  // namespace tinyq
