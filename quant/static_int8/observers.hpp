// Activation observers for static int8: from the values one activation takes
// on calibration data, choose the real range [lo, hi] its 256 u8 codes cover,
// then the scale and zero point (real = (code - zero_point) · scale).
//
//   minmax      lo = min, hi = max: nothing clipped, coarsest steps.
//   percentile  the 0.01th and 99.99th percentiles: the rarest 0.01% at each
//               end are clipped (TensorRT's and PyTorch's usual choice).
//   mse         the range [f·lo, f·hi], f from 1 down to 0.3 in 1% steps, with
//               the least squared error between the values and their
//               quantized form (summed over every value).
//   entropy     TensorRT's KL calibration: a 2048-bin histogram of |x| (exact
//               zeros left out: they are exact at any range); for
//               each cut i (from the number of quantization levels up to
//               2048 bins) the clipped distribution P (outliers added to the
//               last kept bin) and its quantized form Q (the kept bins
//               without the outliers merged into as many levels as the codes
//               have, each level's mass spread back over the bins where P is
//               nonzero; zeros of Q smoothed); the cut with the least KL(P || Q).
//
// Every range includes 0, so 0 is a code (ReLU outputs get zero point 0 and
// zero padding stays exact). Values that straddle 0 clip symmetrically in
// magnitude (percentile clips each end on its own).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

enum class Observer { minmax, percentile, mse, entropy };

// "minmax", "percentile", "mse", "entropy"; throws tinyq::Error listing them.
Observer parse_observer(std::string_view name);
std::string to_string(Observer observer);

struct ActivationRange {
  float lo = 0.0f;  // <= 0
  float hi = 0.0f;  // >= 0
};

// Throws tinyq::Error for no values or a non-finite one.
ActivationRange observe_range(Observer observer, std::span<const float> values);

// The histogram the entropy observer cuts, exposed so that a figure shows the
// very counts calibration used: `values` counted in `bins` equal bins over
// [lo, hi], v in bin floor((v - lo) / width), values beyond either end in the
// first or last bin. Throws tinyq::Error for bins == 0 or !(hi > lo).
std::vector<double> histogram_counts(std::span<const float> values, double lo, double hi,
                                     std::size_t bins);

// An 8-bit affine code: real = (code - zero_point) · scale, code in [0, 255].
struct U8Quantization {
  float scale = 1.0f;
  std::int32_t zero_point = 0;

  friend bool operator==(const U8Quantization&, const U8Quantization&) = default;
};

// scale = (hi - lo) / 255, zero_point = round(-lo / scale) (in [0, 255]);
// an empty range (hi == lo == 0: an activation that is always 0) gets
// scale 1/255 and zero point 0.
U8Quantization u8_quantization(ActivationRange range);

// The input pixels of MNIST as stored: code = pixel, scale 1/255, zero point 0.
inline constexpr U8Quantization pixel_quantization = {1.0f / 255.0f, 0};

}  // namespace tinyq
