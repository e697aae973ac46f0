// A program outside tinyq's tree that uses it as a library: it builds a small
// MLP, quantizes it to 8 bits, and checks that the quantized model computes
// nearly what the float one does. It includes tinyq's headers as any user
// would ("core/...", "nn/...", "quant/...").
//
// Why a 2% bound: with 8-bit per-channel codes each weight is off by at most
// half a step, 1/510 of its row's range; summed over a layer's inputs such
// errors mostly cancel, and the largest output difference stays well under 1%
// of the largest output. A broken scale or offset is off by tens of percent.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <span>

#include "core/random.hpp"
#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "quant/quantize_model.hpp"

namespace {

std::size_t argmax(std::span<const float> row) {
  return static_cast<std::size_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

}  // namespace

int main() {
  try {
    constexpr std::size_t batch = 32, inputs = 20, classes = 5;
    constexpr double bound = 0.02;

    tinyq::Sequential model = tinyq::make_mlp(inputs, {24, 16}, classes, /*seed=*/7);
    tinyq::Sequential quantized = tinyq::quantize_model(model, tinyq::QuantConfig{});

    tinyq::Rng rng(11);
    tinyq::Tensor x({batch, inputs});
    for (float& v : x.values()) v = rng.uniform(-1.0f, 1.0f);
    // A copy: forward returns a buffer the model reuses.
    const tinyq::Tensor expected = model.forward(x);
    const tinyq::Tensor& found = quantized.forward(x);

    double largest_output = 0.0, largest_difference = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      largest_output = std::max(largest_output, std::abs(double{expected[i]}));
      largest_difference = std::max(largest_difference, std::abs(double{found[i]} - expected[i]));
    }
    std::size_t same_prediction = 0;
    for (std::size_t r = 0; r < batch; ++r) {
      same_prediction += argmax(expected.row(r)) == argmax(found.row(r)) ? 1 : 0;
    }
    const double relative = largest_difference / largest_output;

    std::printf("float:     %s\n", model.describe().c_str());
    std::printf("quantized: %s\n", quantized.describe().c_str());
    std::printf("largest output %.4f, largest difference %.5f (%.3f%%, bound %.0f%%)\n",
                largest_output, largest_difference, 100.0 * relative, 100.0 * bound);
    std::printf("same prediction for %zu of %zu inputs\n", same_prediction, batch);
    if (!(relative <= bound)) {
      std::printf("FAILED: the quantized outputs are further from the float ones than %.0f%%\n",
                  100.0 * bound);
      return 1;
    }
    std::printf("ok\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
