// The PyTorch nn.Sequential naming of a float MLP in safetensors files.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"
#include "nn/safetensors_mlp.hpp"
#include "nn/sequential.hpp"

using namespace tinyq;

namespace {

using Bytes = std::vector<std::uint8_t>;

Sequential random_mlp() {
  Sequential model = make_mlp(7, {5, 4}, 3, 11);
  Rng rng(2);
  for (std::size_t i = 0; i < model.size(); i += 2)
    for (float& b : static_cast<Dense&>(model.layer(i)).bias().values()) b = rng.uniform(-1, 1);
  return model;
}

Tensor random_input(std::size_t rows, std::size_t cols) {
  Tensor x(Shape{rows, cols});
  Rng rng(9);
  for (float& v : x.values()) v = rng.uniform(-2, 2);
  return x;
}

// A file of F32 tensors given by name and shape (values are zeros).
struct Spec {
  std::string name;
  std::vector<std::uint64_t> shape;
  Dtype dtype = Dtype::f32;
};
Bytes file_with(const std::vector<Spec>& specs) {
  std::vector<Bytes> buffers;
  std::vector<SafetensorsTensor> tensors;
  buffers.reserve(specs.size());
  for (const auto& s : specs) {
    std::uint64_t n = 1;
    for (auto e : s.shape) n *= e;
    buffers.emplace_back(n * dtype_size(s.dtype), 0);
    tensors.push_back({s.name, s.dtype, s.shape, buffers.back()});
  }
  return write_safetensors(tensors, {});
}

std::string refusal(const std::vector<Spec>& specs) {
  const Bytes bytes = file_with(specs);
  try {
    sequential_from_safetensors(read_safetensors(bytes, "m.safetensors"), "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("accepted");
  return "";
}

const std::vector<Spec> good{
    {"0.weight", {4, 3}}, {"0.bias", {4}}, {"2.weight", {2, 4}}, {"2.bias", {2}}};

}  // namespace

TEST_CASE("an exported MLP reads back with bit-identical outputs") {
  Sequential model = random_mlp();
  const Bytes bytes = safetensors_from_sequential(model);
  const SafetensorsFile file = read_safetensors(bytes, "mlp");
  Sequential back = sequential_from_safetensors(file, "mlp");
  CHECK(back.describe() == model.describe());
  const Tensor x = random_input(6, 7);
  const Tensor a = model.forward(x);
  const Tensor b = back.forward(x);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("the export uses PyTorch's names, shapes and dtype") {
  const Sequential model = random_mlp();
  const Bytes bytes = safetensors_from_sequential(model);
  const SafetensorsFile file = read_safetensors(bytes, "mlp");
  CHECK(file.tensors.size() == 6);
  const auto& dense2 = static_cast<const Dense&>(model.layer(2));
  const SafetensorsTensor* w = file.find("2.weight");
  REQUIRE(w != nullptr);
  CHECK(w->dtype == Dtype::f32);
  CHECK(w->shape == std::vector<std::uint64_t>{4, 5});  // [out, in]
  const auto values = f32_values(*w);
  CHECK(std::equal(values.begin(), values.end(), dense2.weight().values().begin()));
  CHECK(file.find("4.bias")->shape == std::vector<std::uint64_t>{3});
  CHECK(file.find("1.weight") == nullptr);
  CHECK(file.metadata.at("format") == "pt");
}

TEST_CASE("a hand-made PyTorch layout builds Dense, ReLU, Dense") {
  const Bytes bytes = file_with(good);
  const Sequential model = sequential_from_safetensors(read_safetensors(bytes, "m"), "m");
  CHECK(model.describe() == "Dense(3 -> 4) -> ReLU -> Dense(4 -> 2)");
}

TEST_CASE("layouts other than Linear at 0, 2, 4, ... with ReLU between are refused") {
  CHECK(refusal({{"1.weight", {4, 3}}, {"1.bias", {4}}})
            .find("expected the next Linear at "
                  "position 0") != std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}, {"0.bias", {4}}, {"4.weight", {2, 4}}, {"4.bias", {2}}})
            .find("position 4: expected the next Linear at position 2") != std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}, {"0.bias", {4}}, {"1.weight", {2, 4}}, {"1.bias", {2}}})
            .find("position 1") != std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}}).find("missing 0.bias") != std::string::npos);
  CHECK(refusal({{"0.bias", {4}}}).find("missing 0.weight") != std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}, {"0.bias", {4}}, {"2.weight", {2, 5}}, {"2.bias", {2}}})
            .find("input width 5 does not match the previous Linear's output width 4") !=
        std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}, {"0.bias", {5}}}).find("0.bias: expected shape [4]") !=
        std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3, 1}}, {"0.bias", {4}}}).find("expected shape [out, in]") !=
        std::string::npos);
  CHECK(refusal({{"0.weight", {0, 3}}, {"0.bias", {0}}}).find("both >= 1") != std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}, Dtype::f64}, {"0.bias", {4}}}).find("expected F32") !=
        std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}, {"0.bias", {4}}, {"0.running_mean", {4}}})
            .find("unexpected tensor \"0.running_mean\"") != std::string::npos);
  CHECK(refusal({{"layers.0.weight", {4, 3}}, {"layers.0.bias", {4}}}).find("unexpected tensor") !=
        std::string::npos);
  CHECK(refusal({{"00.weight", {4, 3}}, {"00.bias", {4}}}).find("unexpected tensor") !=
        std::string::npos);
  CHECK(refusal({}).find("no tensors") != std::string::npos);
}

TEST_CASE("export refuses models that PyTorch's Linear/ReLU layout cannot hold") {
  Sequential trailing_relu = random_mlp();
  trailing_relu.add(std::make_unique<Relu>());
  CHECK_THROWS_WITH_AS(safetensors_from_sequential(trailing_relu),
                       doctest::Contains("layer 5 is ReLU"), Error);
  Sequential two_relus;
  two_relus.add(std::make_unique<Dense>(3, 4));
  two_relus.add(std::make_unique<Relu>());
  two_relus.add(std::make_unique<Relu>());
  two_relus.add(std::make_unique<Dense>(4, 2));
  CHECK_THROWS_WITH_AS(safetensors_from_sequential(two_relus), doctest::Contains("layer 2"), Error);
  CHECK_THROWS_AS(safetensors_from_sequential(Sequential()), Error);
}
