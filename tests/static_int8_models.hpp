// Random static int8 models and pixels for the tests: scales chosen to
// provoke rounding ties, clamps at both ends and left shifts (M >= 1).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/random.hpp"
#include "nn/relu.hpp"
#include "nn/sequential.hpp"
#include "quant/static_int8/static_dense.hpp"

namespace tinyq::test {

using Params = StaticInt8Dense::Params;

// A layer with random codes and scales chosen to provoke the corner cases:
// `ties` makes every M_j a power of two (so many sums land exactly on a
// rounding tie); with `left_shifts` one output in eight has M_j >= 1 (left shifts, clamps at both
// ends); weights include whole rows of ±weight_max (127, or less for the
// narrow-weight kernels).
inline Params random_layer(std::size_t in, std::size_t out, U8Quantization input, bool scores,
                           bool relu, bool ties, Rng& rng, bool left_shifts = true,
                           int weight_max = 127) {
  Params p;
  p.in = in;
  p.out = out;
  p.input = input;
  p.scores = scores;
  p.relu = relu;
  p.output = {input.scale * 4096.0f, scores ? 0 : static_cast<std::int32_t>(rng.below(256))};
  for (std::size_t j = 0; j < out; ++j) {
    const int kind = static_cast<int>(rng.below(8));
    for (std::size_t i = 0; i < in; ++i) {
      const int w = kind == 0   ? weight_max
                    : kind == 1 ? -weight_max
                                : static_cast<int>(rng.below(2 * weight_max + 1)) - weight_max;
      p.weight.push_back(static_cast<std::int8_t>(w));
    }
    float scale = std::ldexp(1.0f, -static_cast<int>(rng.below(7)));
    if (!ties) scale *= rng.uniform(0.5f, 1.0f);
    if (kind == 2 && left_shifts)
      scale = 4096.0f * rng.uniform(1.0f, 3.0f);  // M in [1, 3): left shift
    p.weight_scale.push_back(scale);
    p.bias.push_back(static_cast<std::int32_t>(rng.below(1u << 21)) - (1 << 20));
    p.multiplier.push_back(requant_multiplier(p.input.scale, scale, p.output.scale));
  }
  return p;
}

inline std::vector<Params> random_network(const std::vector<std::size_t>& widths, bool ties,
                                          Rng& rng, bool left_shifts = true, int weight_max = 127) {
  std::vector<Params> layers;
  U8Quantization input = pixel_quantization;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
    const bool last = l + 2 == widths.size();
    layers.push_back(random_layer(widths[l], widths[l + 1], input, last, !last && l % 2 == 0, ties,
                                  rng, left_shifts, weight_max));
    input = layers.back().output;
  }
  return layers;
}

inline Sequential as_model(const std::vector<Params>& layers) {
  Sequential model;
  for (const Params& p : layers) {
    model.add(std::make_unique<StaticInt8Dense>(p));
    if (p.relu) model.add(std::make_unique<Relu>());
  }
  return model;
}

// Rows of random pixels; every third row has runs of 0 and 255.
inline std::vector<std::uint8_t> random_pixels(std::size_t rows, std::size_t in, Rng& rng) {
  std::vector<std::uint8_t> pixels(rows * in);
  for (std::size_t e = 0; e < pixels.size(); ++e) {
    const std::size_t row = e / in;
    pixels[e] = row % 3 == 0 ? static_cast<std::uint8_t>((e / 7) % 2 ? 255 : 0)
                             : static_cast<std::uint8_t>(rng.below(256));
  }
  return pixels;
}

}  // namespace tinyq::test
