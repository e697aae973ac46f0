// What to quantize to: the scheme (how a real number maps to an integer), the
// granularity (which weights share one scale), the bit width and the group size.
//
// QuantFormat describes one quantized matrix; QuantConfig adds what
// quantize_model needs on top (which layers stay in float).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

enum class Scheme {
  asymmetric,  // unsigned codes, w ≈ q / scale + min     (scale from max - min)
  symmetric,   // signed codes,   w ≈ q / scale           (scale from max |w|)
  ternary,     // codes -1, 0, +1, w ≈ q / scale, packed five to a byte (quant/ternary.hpp)
};

enum class Granularity {
  tensor,   // one scale for the whole matrix
  channel,  // one scale per output neuron (per row of W [out, in])
  group,    // one scale per run of group_size consecutive inputs within a row
};

// How QuantizedDense multiplies (a run-time choice, not part of the stored
// model): weight_only keeps activations in float and widens the weight codes
// (fp32 sums); dynamic_int8 also quantizes each input row to 8 bits at run
// time and sums 8-bit × 8-bit products in int32 (quant/dynamic_int8.hpp).
enum class QuantizedKernel { weight_only, dynamic_int8 };

struct QuantFormat {
  Scheme scheme = Scheme::asymmetric;
  Granularity granularity = Granularity::channel;
  int bits = 8;                 // 2..8
  std::size_t group_size = 64;  // used by Granularity::group only: a power of two >= 16

  friend bool operator==(const QuantFormat&, const QuantFormat&) = default;
};

struct QuantConfig {
  QuantFormat format;
  // Indices into the model's layer list (as Sequential::layer(i) counts them,
  // ReLUs included) of Dense layers to keep in float.
  std::vector<std::size_t> keep_float = {};
  QuantizedKernel kernel = QuantizedKernel::weight_only;
  // How grids are chosen and weights rounded (quant/methods.hpp).
  std::string grid = "minmax";
  std::string rounding = "nearest";
  // rtn, awq, gptq or awq+gptq: awq rescales input channels before
  // quantizing (quant/awq.hpp), gptq rounds with error feedback
  // (quant/gptq.hpp, replacing `rounding`). Both need calibration data.
  std::string method = "rtn";
  double damp = 0.01;           // GPTQ: fraction of the mean diagonal of H added to it
  bool act_order = false;       // GPTQ: columns in order of decreasing H_cc
  std::size_t gptq_refits = 0;  // GPTQ: grid refits and passes after the first (quant/gptq.hpp)
  // Bias correction (quant/bias_correction.hpp): each quantized layer's bias
  // gains its mean output error on the calibration inputs. Needs calibration data.
  bool bias_correction = false;
  // Epochs of end-to-end grid tuning after quantizing (quant/scale_tuning.hpp):
  // steps and biases fitted to the float model's outputs, codes fixed. 0: none.
  std::size_t tune_epochs = 0;
  double tune_learning_rate = 1e-3;
};

inline constexpr int min_bits = 2;
inline constexpr int max_bits = 8;
inline constexpr std::size_t min_group_size = 16;
// A ternary format's `bits`: its codes are the symmetric 2-bit range -1..1
// (grids and rounding treat it as such); tags and reports say 1.58.
inline constexpr int ternary_bits = 2;

// "asymmetric" / "symmetric" / "ternary"; throws tinyq::Error listing the valid names.
Scheme parse_scheme(std::string_view name);
// "tensor" / "channel" / "group"; throws tinyq::Error listing the valid names.
Granularity parse_granularity(std::string_view name);
// "weight_only" / "dynamic_int8"; throws tinyq::Error listing the valid names.
QuantizedKernel parse_kernel(std::string_view name);
std::string to_string(QuantizedKernel kernel);
std::string to_string(Scheme scheme);
std::string to_string(Granularity granularity);
// "asymmetric/channel/8-bit", "symmetric/group-32/4-bit", "ternary/channel/1.58-bit".
std::string to_string(const QuantFormat& format);
// The tag files store: "asymmetric/channel/8", "symmetric/group-64/4",
// "ternary/channel/1.58".
std::string format_tag(const QuantFormat& format);
// Reads a tag format_tag wrote; throws tinyq::Error saying what is wrong
// (also for a valid-looking tag of an invalid format, e.g. 9 bits).
QuantFormat parse_format_tag(std::string_view tag);

// Throws tinyq::Error unless bits is in 2..8 (ternary: ternary_bits) and, for group granularity,
// the group size is a power of two >= 16.
void validate(const QuantFormat& format);

}  // namespace tinyq
