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
};

enum class Granularity {
  tensor,   // one scale for the whole matrix
  channel,  // one scale per output neuron (per row of W [out, in])
  group,    // one scale per run of group_size consecutive inputs within a row
};

struct QuantFormat {
  Scheme scheme = Scheme::asymmetric;
  Granularity granularity = Granularity::channel;
  int bits = 8;                 // 2..8
  std::size_t group_size = 64;  // used by Granularity::group only: a power of two >= 16

  friend bool operator==(const QuantFormat&, const QuantFormat&) = default;
};

struct QuantConfig {
  Scheme scheme = Scheme::asymmetric;
  Granularity granularity = Granularity::channel;
  int bits = 8;
  std::size_t group_size = 64;
  // Indices into the model's layer list (as Sequential::layer(i) counts them,
  // ReLUs included) of Dense layers to keep in float.
  std::vector<std::size_t> keep_float;

  QuantFormat format() const { return {scheme, granularity, bits, group_size}; }
};

inline constexpr int min_bits = 2;
inline constexpr int max_bits = 8;
inline constexpr std::size_t min_group_size = 16;

// "asymmetric" / "symmetric"; throws tinyq::Error listing the valid names.
Scheme parse_scheme(std::string_view name);
// "tensor" / "channel" / "group"; throws tinyq::Error listing the valid names.
Granularity parse_granularity(std::string_view name);
std::string to_string(Scheme scheme);
std::string to_string(Granularity granularity);
// "asymmetric/channel/8-bit", "symmetric/group-32/4-bit".
std::string to_string(const QuantFormat& format);

// Throws tinyq::Error unless bits is in 2..8 and, for group granularity, the
// group size is a power of two >= 16.
void validate(const QuantFormat& format);
inline void validate(const QuantConfig& config) {
  validate(config.format());
}

}  // namespace tinyq
