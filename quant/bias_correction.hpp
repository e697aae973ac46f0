// Bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight
// Equalization and Bias Correction"; Finkelstein et al. 2019, "Fighting
// Quantization Bias With Bias").
//
// Rounding errors of a row do not average out to zero: at 2 bits a row's
// error ΔW = W' - W shifts its output by ΔW · E[x], the same for every input,
// and the shifts of one layer add to those it received from the layers
// before. The expected output of a quantized layer is cheap to put right:
// with x the inputs the float model gives the layer and x' those the
// already-quantized layers before it give, set
//   b' = b + E[W x + b] - E[W' x' + b] = b + E[W x] - E[W' x']
// over the calibration inputs. The bias stays a float in the quantized
// layer, so the correction is stored exactly and costs nothing to run. It
// corrects the error's mean only (its variance is GPTQ's business), and
// with x' in place of x it also corrects the mean error that reaches the
// layer from upstream.
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.hpp"
#include "nn/layer.hpp"

namespace tinyq {

// E[reference(x)] - E[quantized(x')] per output over the rows of the
// calibration inputs x = reference_inputs and x' = quantized_inputs (both
// [samples, in], the same number of samples), summed in double.
std::vector<double> mean_output_shift(Layer& reference, const Tensor& reference_inputs,
                                      Layer& quantized, const Tensor& quantized_inputs);

// A copy of a QuantizedDense with `shift` added to its bias. Throws
// tinyq::Error for any other layer or a shift of the wrong length.
std::unique_ptr<Layer> with_bias_shift(const Layer& quantized, const std::vector<double>& shift);

}  // namespace tinyq
