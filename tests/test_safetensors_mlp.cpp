// The PyTorch nn.Sequential naming of a float MLP in safetensors files.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_safetensors.hpp"
#include "nn/relu.hpp"
#include "nn/sequential.hpp"
#include "random_tensor.hpp"

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
  Rng rng(9);
  return test::random_tensor({rows, cols}, rng, -2.0f, 2.0f);
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
    model_from_safetensors(read_safetensors(bytes, "m.safetensors"), "m.safetensors");
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
  const Bytes bytes = model_to_safetensors(model);
  const SafetensorsFile file = read_safetensors(bytes, "mlp");
  Sequential back = model_from_safetensors(file, "mlp");
  CHECK(back.describe() == model.describe());
  const Tensor x = random_input(6, 7);
  const Tensor a = model.forward(x);
  const Tensor b = back.forward(x);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("the export uses PyTorch's names, shapes and dtype") {
  const Sequential model = random_mlp();
  const Bytes bytes = model_to_safetensors(model);
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
  const Sequential model = model_from_safetensors(read_safetensors(bytes, "m"), "m");
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
            .find("Linear at position 2: layer 2 Dense(5 -> 2): expects 5 inputs, previous layers "
                  "produce 4") != std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3}}, {"0.bias", {5}}})
            .find("position 0: tensor \"bias\": expected F32 [4], found F32 [5]") !=
        std::string::npos);
  CHECK(refusal({{"0.weight", {4, 3, 1}}, {"0.bias", {4}}}).find("expected F32 of rank 2") !=
        std::string::npos);
  CHECK(refusal({{"0.weight", {0, 3}}, {"0.bias", {0}}}).find("every extent >= 1") !=
        std::string::npos);
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

TEST_CASE("any model exports: layouts PyTorch's Linear/ReLU naming cannot hold read back too") {
  Sequential trailing_relu = random_mlp();
  trailing_relu.add(std::make_unique<Relu>());
  Sequential two_relus;
  two_relus.add(std::make_unique<Dense>(3, 4));
  two_relus.add(std::make_unique<Relu>());
  two_relus.add(std::make_unique<Relu>());
  two_relus.add(std::make_unique<Dense>(4, 2));
  for (const Sequential* model : {&trailing_relu, &two_relus}) {
    const Bytes bytes = model_to_safetensors(*model);
    const SafetensorsFile file = read_safetensors(bytes, "m");
    CHECK(file.metadata.at("tinyq.format") == "tinyq/2");
    CHECK(model_from_safetensors(file, "m").describe() == model->describe());
  }
  CHECK(read_safetensors(model_to_safetensors(two_relus), "m").metadata.at("tinyq.layers") ==
        "dense,relu,relu,dense");
  CHECK_THROWS_AS(model_to_safetensors(Sequential()), Error);
}

TEST_CASE("a PyTorch file with a NaN or infinite parameter is refused") {
  Sequential model = random_mlp();
  Bytes bytes = model_to_safetensors(model);
  SafetensorsFile file = read_safetensors(bytes, "m");
  file.metadata.clear();  // as PyTorch writes it: names only
  for (const float bad : {std::nanf(""), -INFINITY}) {
    std::vector<float> w = f32_values(*file.find("2.weight"));
    w[3 * 5 + 1] = bad;
    const Bytes w_bytes = f32_bytes(w);
    std::vector<SafetensorsTensor> tensors = file.tensors;
    for (auto& t : tensors)
      if (t.name == "2.weight") t.bytes = w_bytes;
    const Bytes damaged = write_safetensors(tensors, {});
    CHECK_THROWS_WITH_AS(
        model_from_safetensors(read_safetensors(damaged, "m.safetensors"), "m.safetensors"),
        doctest::Contains("tensor \"weight\" [3, 1] is"), Error);
  }
}
