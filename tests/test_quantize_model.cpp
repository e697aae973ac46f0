// quantize_model: which layers get quantized, keep_float, and quantized
// model files (round trip, size, corrupt payloads).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "nn/relu.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "quant/registry.hpp"

using namespace tinyq;

namespace {

Tensor random_input(std::size_t batch, std::size_t width, std::uint64_t seed) {
  Rng rng(seed);
  Tensor x(Shape{batch, width});
  for (float& v : x.values()) v = rng.uniform();
  return x;
}

QuantConfig config(Scheme scheme, Granularity granularity, int bits = 8) {
  QuantConfig c;
  c.scheme = scheme;
  c.granularity = granularity;
  c.bits = bits;
  c.group_size = 32;
  return c;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A file in the system temp folder, removed when the test ends.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("tinyq_test_quantize_model_" + name)) {}
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
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("ReLU, not a Dense"), Error);
}

TEST_CASE("an invalid config is refused before anything is quantized") {
  const Sequential model = make_mlp(20, {16}, 4, 1);
  QuantConfig c = config(Scheme::asymmetric, Granularity::group);
  c.group_size = 24;
  CHECK_THROWS_WITH_AS(quantize_model(model, c), doctest::Contains("power of two"), Error);
  c.group_size = 32;
  c.bits = 16;
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

TEST_CASE("a quantized payload with bad values is refused even under a valid checksum") {
  const Sequential model = make_mlp(8, {4}, 2, 1);
  const Sequential q = quantize_model(model, config(Scheme::symmetric, Granularity::channel, 8));
  const std::vector<std::uint8_t> good = serialize_model(q);
  CHECK_NOTHROW(deserialize_model(good, "q.tqm", all_layers()));
  // Header 16 bytes, then kind (4 + 15 "quantized_dense") and the u64 payload length.
  const std::size_t payload = 16 + 4 + 15 + 8;
  const auto modified = [&](std::size_t at, std::uint8_t value) {
    std::vector<std::uint8_t> bytes = good;
    bytes[payload + at] = value;
    const std::uint32_t crc = crc32(std::span<const std::uint8_t>(bytes).first(bytes.size() - 4));
    for (std::size_t k = 0; k < 4; ++k)
      bytes[bytes.size() - 4 + k] = static_cast<std::uint8_t>(crc >> (8 * k));
    return bytes;
  };
  CHECK_NOTHROW(deserialize_model(modified(10, 8), "q.tqm", all_layers()));  // unchanged value
  CHECK_THROWS_WITH_AS(
      deserialize_model(modified(10, 9), "q.tqm", all_layers()),
      doctest::Contains("q.tqm: layer 0 (quantized_dense): quantization bit width"), Error);
  CHECK_THROWS_WITH_AS(deserialize_model(modified(8, 7), "q.tqm", all_layers()),
                       doctest::Contains("scheme 7"), Error);
  // 8 inputs -> 4 outputs: 4 scales then the codes; code [0, 0] set to -128.
  CHECK_THROWS_WITH_AS(deserialize_model(modified(15 + 16, 0x80), "q.tqm", all_layers()),
                       doctest::Contains("below the symmetric range"), Error);
  // Switching to asymmetric needs 4 more floats of offsets than the payload holds.
  CHECK_THROWS_AS(deserialize_model(modified(8, 0), "q.tqm", all_layers()), Error);
  // Truncating anywhere is refused (by the file format or by the loader).
  for (std::size_t keep = 0; keep + 1 < good.size(); keep += 5)
    CHECK_THROWS_AS(
        deserialize_model(std::span<const std::uint8_t>(good).first(keep), "q.tqm", all_layers()),
        Error);
}
