// quantize_model: which layers get quantized, keep_float, and quantized
// model files (round trip, size, corrupt payloads).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "nn/relu.hpp"
#include "quant/methods.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/registry.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

Tensor random_input(std::size_t batch, std::size_t width, std::uint64_t seed) {
  Rng rng(seed);
  return test::random_tensor({batch, width}, rng, 0.0f, 1.0f);
}

QuantConfig config(Scheme scheme, Granularity granularity, int bits = 8) {
  QuantConfig c;
  c.format.scheme = scheme;
  c.format.granularity = granularity;
  c.format.bits = bits;
  c.format.group_size = 32;
  return c;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A file in the system temp folder, unique to this process (suites of two
// builds may run at once), removed when the test ends.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("tinyq_test_quantize_model_" + std::to_string(getpid()) + "_" + name)) {}
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("every Dense becomes a QuantizedDense and ReLUs are kept") {
  const Sequential model = make_mlp(20, {16, 8}, 4, 1);
  const Sequential q = quantize_model(model, config(Scheme::asymmetric, Granularity::channel));
  REQUIRE(q.size() == 5);
  CHECK(q.layer(0).kind() == "quantized_dense");
  CHECK(q.layer(1).kind() == "relu");
  CHECK(q.layer(2).kind() == "quantized_dense");
  CHECK(q.layer(3).kind() == "relu");
  CHECK(q.layer(4).kind() == "quantized_dense");
  CHECK(model.layer(0).kind() == "dense");  // the original is untouched
  const auto& first = dynamic_cast<const QuantizedDense&>(q.layer(0));
  CHECK(first.inputs() == 20);
  CHECK(first.outputs() == 16);
}

TEST_CASE("the quantized model computes the float model with dequantized weights") {
  const Sequential model = make_mlp(30, {12}, 5, 2);
  const Sequential q = quantize_model(model, config(Scheme::symmetric, Granularity::group, 4));
  Sequential twin = model;  // float layers holding exactly the dequantized weights
  for (const std::size_t i : {0u, 2u}) {
    auto& dense = dynamic_cast<Dense&>(twin.layer(i));
    dense.weight() = dequantize(dynamic_cast<const QuantizedDense&>(q.layer(i)).weight());
  }
  Sequential quantized = q;
  const Tensor x = random_input(6, 30, 3);
  const Tensor y = quantized.forward(x);
  const Tensor& expected = twin.forward(x);
  for (std::size_t i = 0; i < y.size(); ++i)
    CHECK(y[i] == doctest::Approx(expected[i]).epsilon(1e-4));
}

TEST_CASE("keep_float leaves the listed Dense layers in float") {
  const Sequential model = make_mlp(20, {16, 8}, 4, 1);
  QuantConfig c = config(Scheme::asymmetric, Granularity::tensor);
  c.keep_float = {0, 4};
  const Sequential q = quantize_model(model, c);
  CHECK(q.layer(0).kind() == "dense");
  CHECK(q.layer(2).kind() == "quantized_dense");
  CHECK(q.layer(4).kind() == "dense");
  const auto& kept = dynamic_cast<const Dense&>(q.layer(0));
  const auto& original = dynamic_cast<const Dense&>(model.layer(0));
  CHECK(same_bits(kept.weight(), original.weight()));
}

TEST_CASE("keep_float indices out of range or not naming a Dense layer are refused") {
  const Sequential model = make_mlp(20, {16}, 4, 1);  // Dense, ReLU, Dense
  QuantConfig c = config(Scheme::asymmetric, Granularity::channel);
  c.keep_float = {3};
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("out of range"), Error);
  c.keep_float = {1};
  CHECK_THROWS_WITH_AS(quantize_model(model, c),
                       doctest::Contains("ReLU, which has no quantized form"), Error);
}

TEST_CASE("an invalid config is refused before anything is quantized") {
  const Sequential model = make_mlp(20, {16}, 4, 1);
  QuantConfig c = config(Scheme::asymmetric, Granularity::group);
  c.format.group_size = 24;
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("power of two"), Error);
  c.format.group_size = 32;
  c.format.bits = 16;
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("found 16"), Error);
}

TEST_CASE("a NaN weight is refused naming the layer and index") {
  Sequential model = make_mlp(20, {16}, 4, 1);
  dynamic_cast<Dense&>(model.layer(2)).weight()(3, 5) = std::nanf("");
  CHECK_THROWS_WITH_AS(quantize_model(model, config(Scheme::symmetric, Granularity::channel)),
                       doctest::Contains("layer 2 (Dense(16 -> 4)) weight: weight [3, 5] is NaN"),
                       Error);
}

TEST_CASE("a quantized model file loads back with bit-identical outputs") {
  const Sequential model = make_mlp(40, {24, 16}, 10, 5);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {2, 5, 8}) {
        QuantConfig c = config(scheme, granularity, bits);
        c.keep_float = {2};
        Sequential q = quantize_model(model, c);
        TempFile file("roundtrip.tqm");
        save_model(q, file.path);
        Sequential loaded = load_model(file.path, all_layers());
        CHECK(loaded.describe() == q.describe());
        const Tensor x = random_input(7, 40, 6);
        const Tensor expected = q.forward(x);
        CHECK(same_bits(loaded.forward(x), expected));
      }
}

TEST_CASE("zero points are saved as state version 2 and load back bit-identical") {
  const Sequential model = make_mlp(12, {8, 6}, 3, 4);
  QuantConfig c = config(Scheme::asymmetric, Granularity::group, 3);
  c.format.group_size = 16;
  c.grid = "zero-exact";
  Sequential q = quantize_model(model, c);
  const StateDict state = q.layer(0).state();
  CHECK(state.attributes.at("version") == "2");
  const auto bytes = serialize_model(q);
  Sequential back = deserialize_model(bytes, "q.tqm", all_layers());
  CHECK(serialize_model(back) == bytes);
  const Tensor x = random_input(5, 12, 2);
  CHECK(same_bits(back.forward(x), q.forward(x)));
  // The seed's min-max grid still writes version 1.
  c.grid = "minmax";
  CHECK(quantize_model(model, c).layer(0).state().attributes.at("version") == "1");
}

TEST_CASE("float_layers alone does not know quantized layers, all_layers reads float models") {
  const Sequential model = make_mlp(8, {4}, 2, 1);
  const Sequential q = quantize_model(model, config(Scheme::asymmetric, Granularity::channel));
  CHECK_THROWS_WITH_AS(deserialize_model(serialize_model(q), "q.tqm"),
                       doctest::Contains("quantized_dense"), Error);
  CHECK(deserialize_model(serialize_model(model), "f.tqm", all_layers()).size() == 3);
}

TEST_CASE("an 8-bit 784-256-128-10 model file is at most 0.27 of the float file") {
  const Sequential model = make_mlp(784, {256, 128}, 10, 7);
  const double float_bytes = static_cast<double>(serialize_model(model).size());
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity granularity : {Granularity::tensor, Granularity::channel}) {
      const auto bytes = serialize_model(quantize_model(model, config(scheme, granularity)));
      CAPTURE(to_string(granularity));
      CHECK(static_cast<double>(bytes.size()) <= 0.27 * float_bytes);
      CHECK(static_cast<double>(bytes.size()) >= 0.25 * float_bytes);  // codes are 1 byte each
    }
  // 4-bit per channel packs two codes a byte.
  const auto four =
      serialize_model(quantize_model(model, config(Scheme::symmetric, Granularity::channel, 4)));
  CHECK(static_cast<double>(four.size()) <= 0.14 * float_bytes);
}

TEST_CASE("a quantized layer's state with bad values is refused even under a valid checksum") {
  const Sequential model = make_mlp(8, {4}, 2, 1);
  const Sequential q = quantize_model(model, config(Scheme::symmetric, Granularity::channel, 8));
  const std::vector<std::uint8_t> good = serialize_model(q);
  CHECK_NOTHROW(deserialize_model(good, "q.tqm", all_layers()));
  // The format tag is stored as text: "symmetric/channel/8" -> ".../9", checksum fixed.
  const std::string tag = "symmetric/channel/8";
  const auto at = std::search(good.begin(), good.end(), tag.begin(), tag.end()) - good.begin();
  REQUIRE(at + tag.size() < good.size());
  std::vector<std::uint8_t> nine = good;
  nine[at + tag.size() - 1] = '9';
  const std::uint32_t crc = crc32(std::span<const std::uint8_t>(nine).first(nine.size() - 4));
  for (std::size_t k = 0; k < 4; ++k)
    nine[nine.size() - 4 + k] = static_cast<std::uint8_t>(crc >> (8 * k));
  CHECK_THROWS_WITH_AS(
      deserialize_model(nine, "q.tqm", all_layers()),
      doctest::Contains("q.tqm: layer 0 (quantized_dense): weight.format \"symmetric/channel/9\": "
                        "quantization bit width"),
      Error);

  // The same checks through the registry, on the state dict itself.
  const LayerRegistry registry = all_layers();
  const StateDict state = q.layer(0).state();
  const auto refused = [&](StateDict damaged, const std::string& message) {
    CHECK_THROWS_WITH_AS(registry.build("quantized_dense", damaged, "q.tqm: layer 0"),
                         doctest::Contains(message.c_str()), Error);
  };
  StateDict code = state;
  code.tensors[0].second.bytes[0] = 0x80;  // symmetric 8-bit codes stop at -127
  refused(code, "below the symmetric range");
  StateDict asymmetric = state;
  asymmetric.attributes["weight.format"] = "asymmetric/channel/8";
  refused(asymmetric, "missing tensor \"weight.offsets\"");
  StateDict zero_scale = state;
  zero_scale.tensors[1].second = StateTensor::of_floats({4}, std::vector<float>(4, 0.0f));
  refused(zero_scale, "scale 0 must be finite and positive");
  StateDict wide = state;
  wide.attributes["weight.shape"] = "4,9";
  refused(wide, "tensor \"weight.codes\": expected U8 [4, 9], found U8 [4, 8]");
  // Truncating the file anywhere is refused (by the file format or by the layer).
  for (std::size_t keep = 0; keep + 1 < good.size(); keep += 5)
    CHECK_THROWS_AS(
        deserialize_model(std::span<const std::uint8_t>(good).first(keep), "q.tqm", all_layers()),
        Error);
}

TEST_CASE("each layer's method sees the inputs that reach it through the quantized layers") {
  const Sequential model = make_mlp(12, {8, 6}, 3, 4);
  std::vector<Tensor> seen;
  add_rounding_method({"recording", [&](const Tensor& inputs, const QuantConfig&) -> Rounder {
                         seen.push_back(inputs);
                         return round_to_nearest;
                       }});
  QuantConfig c = config(Scheme::symmetric, Granularity::channel, 3);
  c.rounding = "recording";
  const Tensor x = random_input(9, 12, 4);
  Sequential q = quantize_model(model, c, x);
  REQUIRE(seen.size() == 3);  // the three Dense layers
  CHECK(same_bits(seen[0], x));
  // Layer 2 sees ReLU(quantized layer 0 (x)), layer 4 the output of quantized layers 0..3.
  Sequential prefix = q;
  const Tensor after_relu = prefix.layer(1).forward(prefix.layer(0).forward(x));
  CHECK(same_bits(seen[1], after_relu));
  const Tensor after_second = prefix.layer(3).forward(prefix.layer(2).forward(after_relu));
  CHECK(same_bits(seen[2], after_second));
  // The same rounding with or without data: nearest ignores the inputs.
  CHECK(serialize_model(q) ==
        serialize_model(quantize_model(model, config(Scheme::symmetric, Granularity::channel, 3))));
  seen.clear();
  quantize_model(model, c);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].size() == 0);  // no calibration data: empty inputs
}

TEST_CASE("calibration inputs of the wrong width, and unknown methods, are refused") {
  const Sequential model = make_mlp(12, {8}, 3, 4);
  QuantConfig c = config(Scheme::asymmetric, Granularity::channel);
  CHECK_THROWS_WITH_AS(quantize_model(model, c, random_input(4, 11, 1)),
                       doctest::Contains("calibration inputs must be [samples, 12], found [4, 11]"),
                       Error);
  c.grid = "magic";
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("unknown grid 'magic'"), Error);
  c.grid = "minmax";
  c.rounding = "dice";
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("unknown rounding 'dice'"),
                       Error);
}
