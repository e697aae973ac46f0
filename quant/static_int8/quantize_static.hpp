// Static int8 post-training quantization of a whole MLP (Jacob et al. 2018):
// every Dense becomes a StaticInt8Dense (quant/static_int8/static_dense.hpp).
//
// Steps: the float model runs on the calibration images, and each hidden
// Dense's output (after its ReLU, when one follows) is given to the observer,
// which fixes that activation's u8 scale and zero point; the next layer reads
// the same codes. The first layer reads the raw u8 pixels (scale 1/255, zero
// point 0: exact, nothing to observe). Weights are symmetric int8 codes, one
// scale per output (or one for the whole matrix); biases are int32 at
// s_in·s_w, clamped to ±2^30 (a bias that large would swamp every product).
// The last Dense gives int32 scores at one scale, s_in · max_j s_w[j], so
// every M_j = s_w[j] / max s_w <= 1 and nothing is observed for it.
#pragma once

#include <cstddef>
#include <vector>

#include "core/tensor.hpp"
#include "nn/sequential.hpp"
#include "quant/scheme.hpp"
#include "quant/static_int8/observers.hpp"

namespace tinyq {

struct StaticInt8Config {
  Observer observer = Observer::minmax;
  Granularity granularity = Granularity::channel;  // channel or tensor
  int bits = 8;                                    // 2..8, symmetric codes
};

// A new model of StaticInt8Dense and ReLU layers; `model` is untouched.
// `model` must be Dense and ReLU layers ending with a Dense; `calibration`
// [samples >= 1, inputs] holds images with values pixel / 255. Throws
// tinyq::Error naming what is wrong (no Dense layer, another layer kind, a
// bad calibration shape, a bad config).
Sequential quantize_static_int8(const Sequential& model, const Tensor& calibration,
                                const StaticInt8Config& config);

// What the observers see when quantize_static_int8 calibrates: for every
// Dense but the last, its outputs on the calibration images (after its ReLU
// when one follows), [samples, out]. Same checks and errors as
// quantize_static_int8, which observes exactly these values.
struct ObservedActivation {
  std::size_t layer = 0;  // the Dense's index in the model
  Tensor values;
};
std::vector<ObservedActivation> observed_activations(const Sequential& model,
                                                     const Tensor& calibration);

}  // namespace tinyq
