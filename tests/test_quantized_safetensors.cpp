// Quantized models in safetensors: round trips, the documented tensor layout
// (checked by dequantizing from the raw tensors as a numpy reader would), and
// refusals of inconsistent files.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_safetensors.hpp"
#include "nn/relu.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/registry.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

using Bytes = std::vector<std::uint8_t>;

// 37 inputs: not a multiple of the group size or of 8 bits, so short last
// groups and padding bits are exercised.
Sequential float_model() {
  Sequential model = make_mlp(37, {20}, 6, 5);
  Rng rng(8);
  for (std::size_t i = 0; i < model.size(); i += 2)
    for (float& b : static_cast<Dense&>(model.layer(i)).bias().values()) b = rng.uniform(-1, 1);
  return model;
}

Sequential quantized(Scheme scheme, Granularity granularity, int bits,
                     std::vector<std::size_t> keep_float = {}) {
  QuantConfig c;
  c.format = {scheme, granularity, bits, 16};
  c.keep_float = std::move(keep_float);
  return quantize_model(float_model(), c);
}

Tensor random_input() {
  Rng rng(3);
  return test::random_tensor({5, 37}, rng);
}

bool same_outputs(Sequential& a, Sequential& b) {
  const Tensor x = random_input();
  const Tensor ya = a.forward(x);
  const Tensor yb = b.forward(x);
  return ya.shape() == yb.shape() &&
         std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0;
}

// The weights of layer i rebuilt from the raw tensors by the recipe in
// quantized_safetensors.hpp (what a numpy reader does), independently of
// bit_packing and quantize.
std::vector<float> dequantize_from_file(const SafetensorsFile& file, std::size_t i) {
  const std::string p = std::to_string(i) + ".";
  const std::string format = file.metadata.at(p + "weight.format");
  const std::string shape = file.metadata.at(p + "weight.shape");
  const std::size_t out = std::stoul(shape), in = std::stoul(shape.substr(shape.find(',') + 1));
  const bool symmetric = format.rfind("symmetric", 0) == 0;
  const int bits = std::stoi(format.substr(format.rfind('/') + 1));
  std::size_t group = 0;  // 0: whole row
  if (const auto g = format.find("group-"); g != std::string::npos)
    group = std::stoul(format.substr(g + 6));
  const bool per_tensor = format.find("/tensor/") != std::string::npos;
  const SafetensorsTensor& codes = *file.find(p + "weight.codes");
  const auto scales = f32_values(*file.find(p + "weight.scales"));
  const auto* offsets_tensor = file.find(p + "weight.offsets");
  const auto offsets = offsets_tensor ? f32_values(*offsets_tensor) : std::vector<float>{};
  const std::size_t row_bytes = codes.shape[1];
  const std::size_t runs = group ? (in + group - 1) / group : 1;
  std::vector<float> w(out * in);
  for (std::size_t r = 0; r < out; ++r)
    for (std::size_t c = 0; c < in; ++c) {
      long q = 0;
      for (int k = 0; k < bits; ++k) {
        const std::size_t bit = c * bits + k;
        q |= long((codes.bytes[r * row_bytes + bit / 8] >> (bit % 8)) & 1) << k;
      }
      if (symmetric && q >= (1L << (bits - 1))) q -= 1L << bits;
      const std::size_t b = per_tensor ? 0 : group ? r * runs + c / group : r;
      w[r * in + c] = float(q) / scales[b] + (symmetric ? 0.0f : offsets[b]);
    }
  return w;
}

std::string refusal(const SafetensorsFile& file) {
  try {
    model_from_safetensors(file, "q.safetensors", all_layers());
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("accepted");
  return "";
}

}  // namespace

TEST_CASE("quantized models round trip with identical outputs for every format") {
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity g : {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {2, 3, 4, 8}) {
        Sequential model = quantized(scheme, g, bits);
        const Bytes bytes = model_to_safetensors(model);
        Sequential back = model_from_safetensors(read_safetensors(bytes, "q"), "q", all_layers());
        INFO(model.describe());
        CHECK(back.describe() == model.describe());
        CHECK(same_outputs(model, back));
        const auto& a = static_cast<const QuantizedDense&>(model.layer(0)).weight();
        const auto& b = static_cast<const QuantizedDense&>(back.layer(0)).weight();
        CHECK(a.codes == b.codes);
        CHECK(a.scales == b.scales);
        CHECK(a.offsets == b.offsets);
      }
}

TEST_CASE("tensor names, dtypes, shapes and metadata follow the documented layout") {
  Sequential model = quantized(Scheme::symmetric, Granularity::group, 4, {2});
  const Bytes bytes = model_to_safetensors(model);
  const SafetensorsFile file = read_safetensors(bytes, "q");
  CHECK(file.metadata.at("tinyq.format") == "tinyq/2");
  CHECK(file.metadata.at("0.version") == "1");
  CHECK(file.metadata.at("tinyq.layers") == "quantized_dense,relu,dense");
  CHECK(file.metadata.at("0.weight.format") == "symmetric/group-16/4");
  CHECK(file.metadata.at("0.weight.shape") == "20,37");
  CHECK(file.find("0.weight.codes")->dtype == Dtype::u8);
  CHECK(file.find("0.weight.codes")->shape == std::vector<std::uint64_t>{20, 19});  // ceil(37*4/8)
  CHECK(file.find("0.weight.scales")->shape == std::vector<std::uint64_t>{60});     // 20 * 3 groups
  CHECK(file.find("0.weight.offsets") == nullptr);
  CHECK(file.find("0.bias")->shape == std::vector<std::uint64_t>{20});
  CHECK(file.find("2.weight")->shape == std::vector<std::uint64_t>{6, 20});  // kept in float
  CHECK(file.tensors.size() == 5);
  Sequential back = model_from_safetensors(file, "q", all_layers());
  CHECK(same_outputs(model, back));
}

TEST_CASE("the documented recipe rebuilds the weights quantize() stands for") {
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity g : {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {3, 8}) {
        const Sequential model = quantized(scheme, g, bits);
        const Bytes bytes = model_to_safetensors(model);
        const SafetensorsFile file = read_safetensors(bytes, "q");
        const Tensor expected =
            dequantize(static_cast<const QuantizedDense&>(model.layer(0)).weight());
        const std::vector<float> rebuilt = dequantize_from_file(file, 0);
        INFO(file.metadata.at("0.weight.format"));
        REQUIRE(rebuilt.size() == expected.size());
        float worst = 0;
        for (std::size_t k = 0; k < rebuilt.size(); ++k)
          worst = std::max(worst, std::abs(rebuilt[k] - expected[k]));
        CHECK(worst <= 1e-6f);
      }
}

TEST_CASE("either layout is read by sequential_from_any_safetensors") {
  Sequential float_mlp = float_model();
  const Bytes float_bytes = model_to_safetensors(float_mlp);
  Sequential a = model_from_safetensors(read_safetensors(float_bytes, "f"), "f", all_layers());
  CHECK(same_outputs(float_mlp, a));
  Sequential q = quantized(Scheme::asymmetric, Granularity::channel, 8);
  const Bytes q_bytes = model_to_safetensors(q);
  Sequential b = model_from_safetensors(read_safetensors(q_bytes, "q"), "q", all_layers());
  CHECK(b.describe() == q.describe());
}

TEST_CASE("inconsistent quantized files are refused with the file and layer named") {
  const Bytes bytes = model_to_safetensors(quantized(Scheme::symmetric, Granularity::channel, 8));
  const SafetensorsFile good = read_safetensors(bytes, "q");
  auto with_metadata = [&](const std::string& key, const std::string& value) {
    SafetensorsFile f = good;
    f.metadata[key] = value;
    return refusal(f);
  };
  CHECK(with_metadata("tinyq.format", "quantized-mlp/2").find("unknown tinyq.format") !=
        std::string::npos);
  CHECK(with_metadata("tinyq.layers", "quantized_dense,sigmoid,dense")
            .find("unknown layer kind \"sigmoid\"") != std::string::npos);
  CHECK(with_metadata("0.weight.format", "symmetric/group/8").find("needs its size") !=
        std::string::npos);
  CHECK(with_metadata("0.weight.format", "symmetric/channel/9").find("bit width") !=
        std::string::npos);
  CHECK(with_metadata("0.weight.format", "linear/channel/8").find("unknown quantization scheme") !=
        std::string::npos);
  CHECK(with_metadata("0.weight.format", "symmetric/channel").find("scheme/granularity/bits") !=
        std::string::npos);
  CHECK(with_metadata("0.weight.shape", "20").find("\"out,in\"") != std::string::npos);
  CHECK(with_metadata("0.weight.shape", "20,36")
            .find("layer 0 (quantized_dense): tensor \"weight.codes\"") != std::string::npos);
  CHECK(with_metadata("0.version", "3").find("version \"3\" is not known") != std::string::npos);
  // Version 2 carries zero points, which only asymmetric weights have.
  CHECK(with_metadata("0.version", "2").find("version 2 (zero points) needs an asymmetric") !=
        std::string::npos);
  CHECK(with_metadata("0.color", "red").find("unexpected attribute \"color\"") !=
        std::string::npos);
  CHECK(with_metadata("7.weight.format", "x").find("unexpected metadata \"7.weight.format\"") !=
        std::string::npos);
  // Asymmetric needs offsets the file does not have.
  CHECK(with_metadata("0.weight.format", "asymmetric/channel/8")
            .find("layer 0 (quantized_dense): missing tensor \"weight.offsets\"") !=
        std::string::npos);

  SafetensorsFile no_layers = good;
  no_layers.metadata.erase("tinyq.layers");
  CHECK(refusal(no_layers).find("missing metadata \"tinyq.layers\"") != std::string::npos);

  SafetensorsFile extra = good;
  extra.tensors.push_back({"9.weight", Dtype::f32, {0}, {}});
  CHECK(refusal(extra).find("q.safetensors: unexpected tensor \"9.weight\"") == 0);

  // Symmetric 8-bit codes stop at -127; byte 0x80 (-128) is out of range.
  Bytes codes(good.find("0.weight.codes")->bytes.begin(), good.find("0.weight.codes")->bytes.end());
  codes[0] = 0x80;
  SafetensorsFile bad_code = good;
  for (auto& t : bad_code.tensors)
    if (t.name == "0.weight.codes") t.bytes = codes;
  CHECK(refusal(bad_code).find("q.safetensors: layer 0 (quantized_dense): ") == 0);

  const Bytes negative = f32_bytes(std::vector<float>(20, -1.0f));
  SafetensorsFile bad_scale = good;
  for (auto& t : bad_scale.tensors)
    if (t.name == "0.weight.scales") t.bytes = negative;
  CHECK(refusal(bad_scale).find("layer 0") != std::string::npos);
}

TEST_CASE("a non-finite scale, offset or bias is refused naming the tensor and index") {
  const Bytes bytes = model_to_safetensors(quantized(Scheme::asymmetric, Granularity::channel, 4));
  const SafetensorsFile good = read_safetensors(bytes, "q");
  for (const std::string name : {"0.weight.scales", "0.weight.offsets", "0.bias"}) {
    std::vector<float> values = f32_values(*good.find(name));
    values[7] = std::nanf("");
    const Bytes damaged = f32_bytes(values);
    SafetensorsFile file = good;
    for (auto& t : file.tensors)
      if (t.name == name) t.bytes = damaged;
    CHECK(refusal(file).find("layer 0 (quantized_dense): tensor \"" + name.substr(2) +
                             "\" [7] is NaN") != std::string::npos);
  }
}

TEST_CASE("random damage to a quantized file yields a model or a tinyq::Error") {
  const Bytes good = model_to_safetensors(quantized(Scheme::asymmetric, Granularity::group, 3));
  Rng rng(23);
  int refused = 0;
  for (int trial = 0; trial < 500; ++trial) {
    Bytes bytes = good;
    bytes[rng.below(bytes.size())] = static_cast<std::uint8_t>(rng.below(256));
    try {
      Sequential model =
          model_from_safetensors(read_safetensors(bytes, "damaged"), "damaged", all_layers());
      CHECK(model.forward(random_input()).dim(1) == 6);
    } catch (const Error&) {
      ++refused;
    }
  }
  CHECK(refused > 0);
}
