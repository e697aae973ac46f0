// Bias correction: the mean output shift and the corrected layer.
#include "quant/bias_correction.hpp"

#include <string>

#include "core/error.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

namespace {

// Σ over samples of each output column of `outputs` [samples, out], in double.
std::vector<double> column_sums(const Tensor& outputs) {
  outputs.require_rank(2, "bias correction");
  std::vector<double> sum(outputs.dim(1), 0.0);
  for (std::size_t n = 0; n < outputs.dim(0); ++n)
    for (std::size_t o = 0; o < outputs.dim(1); ++o) sum[o] += outputs(n, o);
  return sum;
}

}  // namespace

std::vector<double> mean_output_shift(Layer& reference, const Tensor& reference_inputs,
                                      Layer& quantized, const Tensor& quantized_inputs) {
  reference_inputs.require_rank(2, "bias correction");
  quantized_inputs.require_rank(2, "bias correction");
  const std::size_t samples = reference_inputs.dim(0);
  if (samples == 0 || quantized_inputs.dim(0) != samples)
    throw Error(
        "bias correction: expected the same nonzero number of reference and quantized "
        "samples, found " +
        std::to_string(samples) + " and " + std::to_string(quantized_inputs.dim(0)));
  const std::vector<double> want = column_sums(reference.forward(reference_inputs));
  const std::vector<double> got = column_sums(quantized.forward(quantized_inputs));
  if (want.size() != got.size())
    throw Error("bias correction: the layers have " + std::to_string(want.size()) + " and " +
                std::to_string(got.size()) + " outputs");
  std::vector<double> shift(want.size());
  for (std::size_t o = 0; o < shift.size(); ++o)
    shift[o] = (want[o] - got[o]) / static_cast<double>(samples);
  return shift;
}

std::unique_ptr<Layer> with_bias_shift(const Layer& quantized, const std::vector<double>& shift) {
  const auto* dense = dynamic_cast<const QuantizedDense*>(&quantized);
  if (!dense)
    throw Error("bias correction: expected a QuantizedDense, found " + quantized.describe());
  if (shift.size() != dense->outputs())
    throw Error("bias correction: expected " + std::to_string(dense->outputs()) +
                " shifts, found " + std::to_string(shift.size()));
  Tensor bias = dense->bias();
  for (std::size_t o = 0; o < shift.size(); ++o) bias[o] = float(bias[o] + shift[o]);
  return std::make_unique<QuantizedDense>(dense->weight(), std::move(bias), dense->kernel());
}

}  // namespace tinyq
