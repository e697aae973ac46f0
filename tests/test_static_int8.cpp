// Static int8 (quant/static_int8): the integer pipeline against the scalar
// reference (tests/static_int8_reference.hpp) on every int8 path and thread
// count, including saturating clamps, rounding ties and M >= 1; the
// observers; quantizing a float model; the state dict through both file
// formats; and refusals.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "isa_paths.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "nn/relu.hpp"
#include "quant/registry.hpp"
#include "quant/static_int8/observers.hpp"
#include "quant/static_int8/quantize_static.hpp"
#include "quant/static_int8/requantize.hpp"
#include "quant/static_int8/static_dense.hpp"
#include "quant/static_int8/static_network.hpp"
#include "random_tensor.hpp"
#include "static_int8_models.hpp"
#include "static_int8_reference.hpp"

using namespace tinyq;
using Params = StaticInt8Dense::Params;
using test::as_model;
using test::random_layer;
using test::random_network;
using test::random_pixels;

namespace {

// Mismatches between the network on every path and thread count and the reference.
void check_against_reference(const std::vector<Params>& layers,
                             const std::vector<std::uint8_t>& pixels) {
  const StaticInt8Network network(as_model(layers));
  const std::size_t in = layers.front().in, out = layers.back().out, n = pixels.size() / in;
  std::vector<std::int32_t> expected(n * out);
  for (std::size_t r = 0; r < n; ++r) {
    const auto scores = test::reference_scores(layers, pixels.data() + r * in);
    for (std::size_t j = 0; j < out; ++j) {
      REQUIRE(scores[j] >= test::reference_int32_min);
      REQUIRE(scores[j] <= test::reference_int32_max);
      expected[r * out + j] = static_cast<std::int32_t>(scores[j]);
    }
  }
  const std::size_t threads = num_threads();
  for (const Isa isa : test::paths_to_test(KernelFamily::int8_gemm))
    for (const std::size_t t : {1, 2, 3}) {
      set_num_threads(t);
      std::vector<std::int32_t> scores(n * out);
      network.scores(isa, pixels, scores);
      std::size_t mismatches = 0;
      for (std::size_t e = 0; e < scores.size(); ++e) mismatches += scores[e] != expected[e];
      CAPTURE(isa_name(isa));
      CAPTURE(t);
      CHECK(mismatches == 0);
    }
  set_num_threads(threads);
}

}  // namespace

TEST_CASE("the integer pipeline matches the scalar reference on every path and thread count") {
  Rng rng(11);
  // Without left shifts every layer takes the vector requantization on the
  // avx2 and avx512 paths; with them, the plain loop.
  for (const bool left_shifts : {true, false})
    for (const bool ties : {true, false}) {
      CAPTURE(ties);
      CAPTURE(left_shifts);
      check_against_reference(random_network({784, 256, 128, 10}, ties, rng, left_shifts),
                              random_pixels(203, 784, rng));
      // Widths that are not whole 4-byte groups (padded pixel rows and codes)
      // nor whole groups of 8 outputs (the vector requantization's tail).
      check_against_reference(random_network({13, 37, 21, 6, 10}, ties, rng, left_shifts),
                              random_pixels(101, 13, rng));
    }
}

TEST_CASE("small batches (each layer's outputs split between threads) match the reference") {
  // Below twice the thread count scores() splits each layer's outputs by
  // 16-wide panels instead of rows: 1 to 5 rows on 1 to 3 threads, layers
  // several panels wide with a ragged last panel. A layer with fewer than
  // 262,144 products per thread runs on the calling thread: the first layer
  // of `wide` (784 x 700) is split from one row at 2 threads, from two at 3.
  Rng rng(17);
  for (const bool left_shifts : {true, false}) {
    CAPTURE(left_shifts);
    const auto wide = random_network({784, 700, 37, 10}, true, rng, left_shifts);
    const auto narrow = random_network({13, 37, 21, 6, 10}, true, rng, left_shifts);
    for (const std::size_t rows : {1, 2, 3, 5}) {
      CAPTURE(rows);
      check_against_reference(wide, random_pixels(rows, 784, rng));
      check_against_reference(narrow, random_pixels(rows, 13, rng));
    }
  }
}

TEST_CASE("narrow weights (|w| <= 64: int8_gemm_narrow) match the reference") {
  // |w| <= 64 switches StaticInt8Dense to int8_gemm_narrow (vpmaddubsw pair
  // sums on AVX2), 65 keeps int8_gemm_pairs. Row 0's pixels are all 255,
  // the others' in every other k-group, where the weights of whole rows at
  // ±max make the pair sums nearest int16's limit.
  Rng rng(23);
  for (const int weight_max : {64, 31, 65}) {
    CAPTURE(weight_max);
    auto wide = random_network({784, 72, 37, 10}, true, rng, false, weight_max);
    // Output 5 of the first layer: +max in even k-groups and -(max - 1) in
    // odd ones, no bias, M = 2^-10 and output zero point 0: on all-255
    // pixels its sum is 98·4·255 = 99,960 (code 98), and a saturated pair
    // sum (33,150 -> 32,767 at max 65) would take 766 from each even group.
    Params& first = wide[0];
    for (std::size_t i = 0; i < 784; ++i)
      first.weight[5 * 784 + i] = static_cast<std::int8_t>(i % 8 < 4 ? weight_max : 1 - weight_max);
    first.bias[5] = 0;
    first.output.zero_point = 0;
    wide[1].input = first.output;
    first.weight_scale[5] = std::ldexp(first.output.scale / first.input.scale, -10);
    first.multiplier[5] =
        requant_multiplier(first.input.scale, first.weight_scale[5], first.output.scale);
    const auto odd = random_network({13, 37, 21, 6, 10}, false, rng, false, weight_max);
    for (const std::size_t rows : {1, 3, 67}) {
      CAPTURE(rows);
      auto pixels = random_pixels(rows, 784, rng);
      std::fill(pixels.begin(), pixels.begin() + 784, std::uint8_t{255});  // row 0
      for (std::size_t i = 784; i < pixels.size(); ++i)
        if (i % 8 < 4) pixels[i] = 255;
      check_against_reference(wide, pixels);
      check_against_reference(odd, random_pixels(rows, 13, rng));
      // The first layer's codes themselves (later layers' clamps could hide
      // a wrong sum from the scores).
      const StaticInt8Dense layer(first);
      std::vector<std::int32_t> acc(rows * first.out);
      std::vector<std::uint8_t> codes(rows * first.out);
      for (const Isa isa : test::paths_to_test(KernelFamily::int8_gemm)) {
        CAPTURE(isa_name(isa));
        layer.forward_codes(isa, rows, pixels.data(), 784, acc.data(), codes.data(), first.out);
        std::size_t mismatches = 0;
        for (std::size_t r = 0; r < rows; ++r) {
          const std::vector<std::int64_t> a(pixels.begin() + r * 784,
                                            pixels.begin() + (r + 1) * 784);
          const auto expected = test::reference_layer(first, a);
          for (std::size_t j = 0; j < first.out; ++j)
            mismatches += codes[r * first.out + j] != expected[j];
        }
        CHECK(mismatches == 0);
      }
    }
  }
}

TEST_CASE("batch-1 scores equal the same rows' scores in a large batch on every path") {
  Rng rng(19);
  const auto layers = random_network({784, 256, 128, 10}, true, rng, false);
  const StaticInt8Network network(as_model(layers));
  const std::size_t rows = 9;
  const auto pixels = random_pixels(rows, 784, rng);
  const std::size_t threads = num_threads();
  for (const Isa isa : test::paths_to_test(KernelFamily::int8_gemm))
    for (const std::size_t t : {1, 2, 3}) {
      CAPTURE(isa_name(isa));
      CAPTURE(t);
      set_num_threads(t);
      std::vector<std::int32_t> batched(rows * 10), single(10);
      network.scores(isa, pixels, batched);
      bool same = true;
      for (std::size_t r = 0; r < rows; ++r) {
        network.scores(isa, std::span(pixels).subspan(r * 784, 784), single);
        same = same && std::equal(single.begin(), single.end(), batched.begin() + r * 10);
      }
      CHECK(same);
    }
  set_num_threads(threads);
}

TEST_CASE("the random sweep reaches the clamps, the ties and the left shifts it is meant to") {
  Rng rng(5);
  const auto layers = random_network({784, 64, 10}, true, rng);
  const auto pixels = random_pixels(60, 784, rng);
  std::size_t low = 0, high = 0, ties = 0, left_shifts = 0;
  const Params& p = layers.front();
  for (std::size_t j = 0; j < p.out; ++j) left_shifts += p.multiplier[j].shift > 0;
  for (std::size_t r = 0; r < 60; ++r) {
    const std::vector<std::int64_t> a(pixels.begin() + std::ptrdiff_t(r * 784),
                                      pixels.begin() + std::ptrdiff_t((r + 1) * 784));
    const auto codes = test::reference_layer(p, a);
    for (std::size_t j = 0; j < p.out; ++j) {
      low += codes[j] == (p.relu ? p.output.zero_point : 0);
      high += codes[j] == 255;
      std::int64_t acc = p.bias[j];
      for (std::size_t i = 0; i < 784; ++i)
        acc += (a[i] - p.input.zero_point) * p.weight[j * 784 + i];
      // A tie of the final rounding: the dropped bits are exactly one half.
      const int right = p.multiplier[j].shift > 0 ? 0 : -p.multiplier[j].shift;
      const std::int64_t high_mul = test::reference_high_mul(acc, p.multiplier[j].m0);
      ties += right > 0 &&
              (high_mul & ((std::int64_t{1} << right) - 1)) == (std::int64_t{1} << (right - 1));
    }
  }
  CHECK(low > 0);
  CHECK(high > 0);
  CHECK(ties > 0);
  CHECK(left_shifts > 0);
}

TEST_CASE("the float edge of StaticInt8Dense gives the integer pipeline's scores") {
  Rng rng(3);
  const auto layers = random_network({784, 32, 10}, false, rng);
  Sequential model = as_model(layers);
  const auto pixels = random_pixels(17, 784, rng);
  Tensor images(Shape{17, 784});
  for (std::size_t e = 0; e < pixels.size(); ++e) images.values()[e] = float(pixels[e]) / 255.0f;
  CHECK(pixels_of(images) == pixels);
  const Tensor& y = model.forward(images);
  std::vector<std::int32_t> scores(17 * 10);
  StaticInt8Network(model).scores(Isa::generic, pixels, scores);
  for (std::size_t e = 0; e < scores.size(); ++e)
    CHECK(y.values()[e] == float(scores[e]) * layers.back().output.scale);
}

TEST_CASE("quantize_static_int8 builds a chained integer model close to the float one") {
  Rng rng(21);
  Sequential model = make_mlp(784, {64, 32}, 10, 4);
  Tensor images = test::random_tensor(Shape{300, 784}, rng, 0.0f, 1.0f);
  for (float& v : images.values()) v = std::nearbyint(v * 255.0f) / 255.0f;
  const Tensor logits = model.forward(images);
  double energy = 0.0;
  for (const float v : logits.values()) energy += double(v) * v;
  for (const std::string name : {"minmax", "percentile", "mse", "entropy"}) {
    CAPTURE(name);
    Sequential quantized = quantize_static_int8(model, images, {.observer = parse_observer(name)});
    CHECK(quantized.size() == model.size());
    CHECK(is_quantized(quantized));
    const StaticInt8Network network(quantized);  // checks the chain
    // The float edge returns scores · scale: the logits the codes stand for.
    const Tensor& y = quantized.forward(images);
    double error = 0.0;
    for (std::size_t e = 0; e < y.size(); ++e)
      error += double(y.values()[e] - logits.values()[e]) * (y.values()[e] - logits.values()[e]);
    CHECK(std::sqrt(error / energy) < 0.05);
  }
}

TEST_CASE("a static int8 model survives the .tqm and safetensors round trips bit for bit") {
  Rng rng(8);
  const Sequential model = as_model(random_network({784, 40, 10}, false, rng));
  const Sequential from_tqm = deserialize_model(serialize_model(model), "m.tqm", all_layers());
  const auto bytes = model_to_safetensors(model);
  const Sequential from_st = model_from_safetensors(read_safetensors(bytes, "m.safetensors"),
                                                    "m.safetensors", all_layers());
  for (std::size_t i = 0; i < model.size(); ++i) {
    CHECK(from_tqm.layer(i).state().tensors == model.layer(i).state().tensors);
    CHECK(from_st.layer(i).state().tensors == model.layer(i).state().tensors);
    CHECK(from_st.layer(i).state().attributes == model.layer(i).state().attributes);
  }
  const auto pixels = random_pixels(9, 784, rng);
  std::vector<std::int32_t> a(90), b(90);
  StaticInt8Network(model).scores(Isa::generic, pixels, a);
  StaticInt8Network(from_tqm).scores(Isa::generic, pixels, b);
  CHECK(a == b);
}

TEST_CASE("a static int8 state with a damaged value is refused naming it") {
  Rng rng(9);
  const StaticInt8Dense layer(random_layer(16, 8, pixel_quantization, true, false, false, rng));
  const auto refused = [&](auto damage, const std::string& words) {
    StateDict state = layer.state();
    damage(state);
    try {
      StaticInt8Dense::from_state(state, "m.tqm: layer 0");
      FAIL("accepted");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.find("m.tqm: layer 0") == 0);
      CHECK(message.find(words) != std::string::npos);
    }
  };
  const auto tensor = [](StateDict& s, const char* name) -> StateTensor& {
    for (auto& [n, t] : s.tensors)
      if (n == name) return t;
    throw Error("no tensor");
  };
  refused([&](StateDict& s) { tensor(s, "requant.multiplier").bytes[0] ^= 1; }, "multiplier");
  refused([&](StateDict& s) { tensor(s, "requant.shift").bytes[0] ^= 1; }, "multiplier");
  refused([&](StateDict& s) { tensor(s, "weight.scale").bytes[2] ^= 0x10; }, "multiplier");
  refused([&](StateDict& s) { tensor(s, "output.zero_point").bytes[0] = 3; }, "zero point");
  refused([&](StateDict& s) { tensor(s, "input.zero_point").bytes[1] = 1; }, "zero point");
  refused([&](StateDict& s) { tensor(s, "bias").bytes[3] = 0x7f; }, "headroom");
  refused([&](StateDict& s) { s.attributes["version"] = std::string("2"); }, "version");
  refused([&](StateDict& s) { s.attributes["output"] = std::string("u16"); }, "output");
  refused([&](StateDict& s) { s.attributes["activation"] = std::string("gelu"); }, "activation");
}

TEST_CASE("quantize_static_int8 refuses models it cannot run in integers") {
  Rng rng(1);
  const Tensor images = test::random_tensor(Shape{4, 8}, rng, 0.0f, 1.0f);
  Sequential relu_only;
  relu_only.add(std::make_unique<Relu>());
  CHECK_THROWS_WITH_AS(quantize_static_int8(relu_only, images, {}),
                       "static int8: the model has no Dense layer", Error);
  Sequential trailing = make_mlp(8, {4}, 3, 1);
  trailing.add(std::make_unique<Relu>());
  CHECK_THROWS_AS(quantize_static_int8(trailing, images, {}), Error);
  const Sequential mlp = make_mlp(8, {4}, 3, 1);
  CHECK_THROWS_AS(quantize_static_int8(mlp, Tensor(Shape{4, 7}), {}), Error);
  CHECK_THROWS_AS(quantize_static_int8(mlp, Tensor(Shape{0, 8}), {}), Error);
  CHECK_THROWS_AS(quantize_static_int8(mlp, images, {.bits = 9}), Error);
  // A chain whose scales do not meet is not one integer pipeline.
  auto layers = random_network({8, 4, 3}, false, rng);
  layers[1].input.zero_point = (layers[1].input.zero_point + 1) % 256;
  layers[1].multiplier.clear();
  for (std::size_t j = 0; j < 3; ++j)
    layers[1].multiplier.push_back(requant_multiplier(
        layers[1].input.scale, layers[1].weight_scale[j], layers[1].output.scale));
  CHECK_THROWS_AS(StaticInt8Network{as_model(layers)}, Error);
}

TEST_CASE("observers: minmax spans the data, percentile and entropy clip a lone outlier") {
  std::vector<float> values(100000);
  Rng rng(2);
  for (float& v : values) v = rng.uniform(0.0f, 1.0f);
  values[17] = 50.0f;  // one outlier
  const ActivationRange minmax = observe_range(Observer::minmax, values);
  CHECK(minmax.lo == 0.0f);
  CHECK(minmax.hi == 50.0f);
  const ActivationRange percentile = observe_range(Observer::percentile, values);
  CHECK(percentile.lo == 0.0f);
  CHECK(percentile.hi < 1.0f);
  CHECK(percentile.hi > 0.99f);
  const ActivationRange entropy = observe_range(Observer::entropy, values);
  CHECK(entropy.lo == 0.0f);
  CHECK(entropy.hi < 10.0f);  // its shortest cut is 255 of 2048 bins: 6.2
  CHECK(entropy.hi > 0.9f);
}

TEST_CASE("the mse observer clips a far outlier where that pays, and keeps a uniform range") {
  // 10^6 values uniform in [0, 10] and one at 1000: clipping the outlier at c
  // costs (1000 - c)^2, rounding the rest costs about 10^6 · (c/255)^2 / 12;
  // the sum is least at c = 1000 / (1 + 10^6 / 780300) = 438.
  std::vector<float> values(1000000);
  Rng rng(4);
  for (float& v : values) v = rng.uniform(0.0f, 10.0f);
  values[5] = 1000.0f;
  const ActivationRange mse = observe_range(Observer::mse, values);
  CHECK(mse.hi > 380.0f);
  CHECK(mse.hi < 500.0f);
  values[5] = 10.0f;
  CHECK(observe_range(Observer::mse, values).hi > 9.7f);
}

TEST_CASE("observers keep 0 in the range and u8_quantization maps it to a code") {
  const std::vector<float> values = {-1.0f, 0.5f, 3.0f};
  const ActivationRange r = observe_range(Observer::minmax, values);
  CHECK(r.lo == -1.0f);
  CHECK(r.hi == 3.0f);
  const U8Quantization q = u8_quantization(r);
  CHECK(q.scale == doctest::Approx(4.0 / 255.0));
  CHECK(q.zero_point == 64);  // round(1 / (4/255)) = round(63.75)
  const std::vector<float> positive = {2.0f, 3.0f};
  CHECK(observe_range(Observer::minmax, positive).lo == 0.0f);
  CHECK(u8_quantization({0.0f, 0.0f}) == pixel_quantization);
  const std::vector<float> bad = {1.0f, std::nanf("")};
  CHECK_THROWS_AS(observe_range(Observer::mse, bad), Error);
  CHECK_THROWS_AS(observe_range(Observer::mse, std::vector<float>{}), Error);
  CHECK_THROWS_AS(parse_observer("kl"), Error);
}

TEST_CASE("histogram_counts bins by floor((v - lo) / width) and clamps the ends") {
  const std::vector<float> values = {-5.0f, 0.0f, 0.49f, 0.5f, 1.0f, 1.99f, 2.0f, 7.0f};
  // Four bins of width 0.5 over [0, 2]: -5 and 0 in bin 0; 0.49 in bin 0;
  // 0.5 in bin 1; 1.0 in bin 2; 1.99, 2.0 (the top edge) and 7 in bin 3.
  const std::vector<double> counts = histogram_counts(values, 0.0, 2.0, 4);
  CHECK(counts == std::vector<double>{3, 1, 1, 3});
  CHECK_THROWS_AS(histogram_counts(values, 0.0, 2.0, 0), Error);
  CHECK_THROWS_AS(histogram_counts(values, 1.0, 1.0, 4), Error);
}

TEST_CASE("observed_activations are the values quantize_static_int8 calibrates on") {
  Rng rng(8);
  Sequential model = make_mlp(8, {5, 4}, 3, 2);
  const Tensor images = test::random_tensor(Shape{50, 8}, rng, 0.0f, 1.0f);
  const std::vector<ObservedActivation> observed = observed_activations(model, images);
  REQUIRE(observed.size() == 2);
  CHECK(observed[0].layer == 0);
  CHECK(observed[1].layer == 2);
  // Dense 0 then its ReLU, by the float model itself.
  Tensor first = model.layer(0).forward(images);
  first = model.layer(1).forward(first);
  CHECK(observed[0].values.shape() == Shape{50, 5});
  CHECK(std::equal(first.values().begin(), first.values().end(),
                   observed[0].values.values().begin()));
  for (const Observer observer :
       {Observer::minmax, Observer::percentile, Observer::mse, Observer::entropy}) {
    CAPTURE(to_string(observer));
    const Sequential quantized = quantize_static_int8(model, images, {.observer = observer});
    for (const ObservedActivation& o : observed) {
      const auto& layer = dynamic_cast<const StaticInt8Dense&>(quantized.layer(o.layer));
      CHECK(layer.params().output == u8_quantization(observe_range(observer, o.values.values())));
    }
  }
  CHECK_THROWS_WITH_AS(observed_activations(Sequential{}, images),
                       "static int8: the model has no Dense layer", Error);
}

TEST_CASE("the README's worked example: one output neuron by hand") {
  // Pixels 0, 51, 204, 255 (x = 0, 0.2, 0.8, 1), weights 0.5, -0.25, 0.1,
  // 0.75, bias 0.05, a ReLU output calibrated to [0, 2].
  const float weights[4] = {0.5f, -0.25f, 0.1f, 0.75f};
  const float s_in = 1.0f / 255.0f, s_w = 0.75f / 127.0f, s_out = 2.0f / 255.0f;
  Params p;
  p.in = 4;
  p.out = 1;
  p.input = pixel_quantization;
  p.output = {s_out, 0};
  p.relu = true;
  p.weight_scale = {s_w};
  for (const float w : weights)
    p.weight.push_back(static_cast<std::int8_t>(std::nearbyint(w / s_w)));
  CHECK(p.weight == std::vector<std::int8_t>{85, -42, 17, 127});
  const double bias = double(0.05f) / (double(s_in) * double(s_w));  // 2158.9999
  p.bias = {static_cast<std::int32_t>(std::nearbyint(bias))};
  CHECK(p.bias[0] == 2159);
  p.multiplier = {requant_multiplier(s_in, s_w, s_out)};  // M = 0.0029527559
  CHECK(p.multiplier[0] == QuantizedMultiplier{1623294720, -8});
  const StaticInt8Dense layer(p);
  const std::uint8_t pixels[4] = {0, 51, 204, 255};
  // 0·85 + 51·(-42) + 204·17 + 255·127 + 2159 = 35870
  std::int32_t acc[1];
  std::uint8_t code[1];
  layer.forward_codes(Isa::generic, 1, pixels, 4, acc, code, 1);
  CHECK(acc[0] + layer.folded_bias()[0] == 35870);
  // srdhm: 35870 · 1623294720 / 2^31 = 27114.33 -> 27114; / 2^8 = 105.9 -> 106.
  CHECK(saturating_rounding_doubling_high_mul(35870, 1623294720) == 27114);
  CHECK(rounding_divide_by_pot(27114, 8) == 106);
  CHECK(code[0] == 106);  // 106 · 2/255 = 0.8314; in float the neuron is 0.83
}

TEST_CASE(
    "requantization gives the reference's integers on every path, ties and extremes included") {
  // 64 outputs: M0 = 2^30 (every odd sum is a tie of the high multiply) or
  // random, right shifts 0..31; sums from the ends of int32, around powers of
  // two (ties of the final shift, both signs) and at random.
  Rng rng(17);
  const std::size_t n = 64;
  std::vector<std::int32_t> bias(n, 0), m0(n), shift(n);
  for (std::size_t j = 0; j < n; ++j) {
    m0[j] = j % 2 == 0 ? (1 << 30) : static_cast<std::int32_t>((1u << 30) + rng.below(1u << 30));
    shift[j] = -static_cast<std::int32_t>(j % 32);
  }
  std::vector<std::int32_t> sums = {std::numeric_limits<std::int32_t>::min(),
                                    std::numeric_limits<std::int32_t>::max(), 0, 1, -1};
  for (int k = 0; k < 31; ++k)
    for (const std::int64_t d : {-1, 0, 1})
      for (const std::int64_t sign : {-1, 1})
        sums.push_back(static_cast<std::int32_t>(sign * ((std::int64_t{3} << k) / 2 + d)));
  while (sums.size() % n != 0)
    sums.push_back(static_cast<std::int32_t>(rng.below(1u << 31)) - (1 << 30));
  for (const Isa isa : test::paths_to_test(KernelFamily::int8_gemm)) {
    CAPTURE(isa_name(isa));
    const RequantTable table{n, bias.data(), m0.data(), shift.data(), true};
    std::size_t mismatches = 0;
    for (std::size_t start = 0; start < sums.size(); ++start) {  // every sum at every output
      std::vector<std::int32_t> acc(n), scores(n);
      std::vector<std::uint8_t> codes(n);
      for (std::size_t j = 0; j < n; ++j) acc[j] = sums[(start + j) % sums.size()];
      requantize_scores(isa, table, acc.data(), scores.data());
      requantize_codes(isa, table, acc.data(), -100, 155, 100, codes.data());
      for (std::size_t j = 0; j < n; ++j) {
        const std::int64_t expected = test::reference_requantize(acc[j], {m0[j], shift[j]});
        mismatches += scores[j] != expected;
        mismatches += codes[j] != std::clamp<std::int64_t>(expected + 100, 0, 255);
      }
    }
    CHECK(mismatches == 0);
  }
}
