// Ternary weights: five codes per byte against a plain reference for every
// count, the format's tag and validation, quantizing, storage size, the
// QuantizedDense kernels, and refusal of bytes no packer writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "quant/quantize.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/registry.hpp"
#include "quant/ternary.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

// The layout written out digit by digit: code k is base-3 digit k % 5 of
// byte k / 5, stored as q + 1.
std::vector<std::uint8_t> reference_pack(const std::vector<std::int32_t>& codes) {
  std::vector<std::uint8_t> bytes((codes.size() + 4) / 5, 0);
  for (std::size_t k = 0; k < codes.size(); ++k) {
    int power = 1;
    for (std::size_t d = 0; d < k % 5; ++d) power *= 3;
    bytes[k / 5] = static_cast<std::uint8_t>(bytes[k / 5] + (codes[k] + 1) * power);
  }
  return bytes;
}

std::vector<std::int32_t> reference_unpack(const std::vector<std::uint8_t>& bytes,
                                           std::size_t count) {
  std::vector<std::int32_t> codes(count);
  for (std::size_t k = 0; k < count; ++k) {
    int value = bytes[k / 5];
    for (std::size_t d = 0; d < k % 5; ++d) value /= 3;
    codes[k] = value % 3 - 1;
  }
  return codes;
}

const QuantFormat ternary_channel{Scheme::ternary, Granularity::channel, ternary_bits, 0};

}  // namespace

TEST_CASE("ternary packing matches the reference for every count 0..64, partial last byte too") {
  Rng rng(1);
  for (std::size_t n = 0; n <= 64; ++n) {
    std::vector<std::int32_t> codes(n);
    for (auto& q : codes) q = static_cast<std::int32_t>(rng.uniform(0.0f, 3.0f)) - 1;
    if (n > 0) codes.back() = 1;  // the last digit set, so the partial byte is exercised
    std::vector<std::uint8_t> packed(ternary_row_bytes(n));
    pack_ternary(codes, packed);
    CAPTURE(n);
    CHECK(packed.size() == (n + 4) / 5);
    CHECK(packed == reference_pack(codes));
    std::vector<std::int32_t> back(n);
    unpack_ternary(packed, back);
    CHECK(back == codes);
    CHECK(back == reference_unpack(packed, n));
    CHECK_FALSE(ternary_row_problem(packed, n).has_value());
  }
}

TEST_CASE("every byte 0..242 unpacks to its five base-3 digits") {
  for (int byte = 0; byte < 243; ++byte) {
    const std::vector<std::uint8_t> packed{static_cast<std::uint8_t>(byte)};
    std::vector<std::int32_t> codes(5);
    unpack_ternary(packed, codes);
    CHECK(codes == reference_unpack(packed, 5));
  }
  const std::vector<std::int32_t> all_plus{1, 1, 1, 1, 1};
  std::vector<std::uint8_t> byte(1);
  pack_ternary(all_plus, byte);
  CHECK(byte[0] == 242);
}

TEST_CASE("ternary packing refuses codes outside -1..1 and wrong buffer sizes") {
  std::vector<std::uint8_t> one(1), two(2);
  CHECK_THROWS_AS(pack_ternary(std::vector<std::int32_t>{0, 2}, one), Error);
  CHECK_THROWS_AS(pack_ternary(std::vector<std::int32_t>{-2}, one), Error);
  CHECK_THROWS_AS(pack_ternary(std::vector<std::int32_t>{0, 0, 0}, two), Error);
  std::vector<std::int32_t> six(6);
  CHECK_THROWS_AS(unpack_ternary(one, six), Error);
}

TEST_CASE("stored ternary rows with a byte above 242 or nonzero unused digits are named") {
  CHECK(ternary_row_problem(std::vector<std::uint8_t>{243}, 5)->find("243") != std::string::npos);
  // Two codes use digits 0 and 1: the byte must be below 9.
  CHECK_FALSE(ternary_row_problem(std::vector<std::uint8_t>{8}, 2).has_value());
  CHECK(ternary_row_problem(std::vector<std::uint8_t>{9}, 2)->find("unused") != std::string::npos);
}

TEST_CASE("the ternary format's tag says 1.58 bits and reads back; other bit fields are refused") {
  CHECK(format_tag(ternary_channel) == "ternary/channel/1.58");
  CHECK(to_string(ternary_channel) == "ternary/channel/1.58-bit");
  CHECK(parse_format_tag("ternary/channel/1.58") == ternary_channel);
  CHECK(parse_format_tag("ternary/group-32/1.58").group_size == 32);
  CHECK_THROWS_AS(parse_format_tag("ternary/channel/2"), Error);
  CHECK_THROWS_AS(parse_format_tag("symmetric/channel/1.58"), Error);
  CHECK_THROWS_AS(validate({Scheme::ternary, Granularity::channel, 4, 64}), Error);
  CHECK(parse_scheme("ternary") == Scheme::ternary);
}

TEST_CASE("quantizing to ternary gives codes -1, 0, 1 at ±max|w| and 0, and 1.6 bits per weight") {
  // Rows: min-max puts the levels at -m, 0, m (m = max |w| of the row).
  const std::vector<float> w = {0.9f, -0.2f, 0.5f,  -1.0f, 0.0f, 0.3f, 0.46f,
                                0.1f, 0.2f,  -0.4f, 0.05f, 0.0f, 0.4f, 0.21f};
  const QuantizedMatrix q = quantize(w, 2, 7, ternary_channel);
  CHECK(q.row_bytes() == 2);
  CHECK(q.storage_bytes() == 2 * 2 + 2 * 4);  // codes, one scale per row, no offsets
  const Tensor back = dequantize(q);
  const std::vector<float> expected = {1.0f, 0.0f, 1.0f,  -1.0f, 0.0f, 0.0f, 0.0f,
                                       0.0f, 0.4f, -0.4f, 0.0f,  0.0f, 0.4f, 0.4f};
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(back[i] == doctest::Approx(expected[i]));
  check_consistent(q, "ternary");
}

TEST_CASE(
    "a ternary QuantizedDense runs both kernels, round-trips its file, and is refused when "
    "corrupt") {
  Rng rng(4);
  Dense dense(23, 6, rng);
  for (const Granularity granularity :
       {Granularity::tensor, Granularity::channel, Granularity::group}) {
    const QuantFormat format{Scheme::ternary, granularity, ternary_bits, 16};
    QuantizedDense layer(quantize(dense.weight(), format), dense.bias());
    Dense twin(23, 6);
    twin.weight() = dequantize(layer.weight());
    const Tensor x = test::random_tensor({5, 23}, rng);
    const Tensor expected = twin.forward(x);
    const Tensor y = layer.forward(x);
    for (std::size_t i = 0; i < y.size(); ++i)
      CHECK(y[i] == doctest::Approx(expected[i]).epsilon(1e-4));
    // dynamic_int8 rounds each input row to 8 bits (steps of max|x| / 127
    // at most, so an error of half that per input) before the same sum.
    layer.set_kernel(QuantizedKernel::dynamic_int8);
    const Tensor y8 = layer.forward(x);
    for (std::size_t r = 0; r < 5; ++r) {
      float largest = 0.0f;
      for (std::size_t i = 0; i < 23; ++i) largest = std::max(largest, std::fabs(x(r, i)));
      for (std::size_t j = 0; j < 6; ++j) {
        double bound = 1e-5;
        for (std::size_t i = 0; i < 23; ++i)
          bound += std::fabs(twin.weight()(j, i)) * largest / 254;
        CHECK(std::fabs(y8(r, j) - expected(r, j)) <= bound);
      }
    }

    Sequential model;
    model.add(std::make_unique<QuantizedDense>(layer));
    Sequential back = deserialize_model(serialize_model(model), "memory", all_layers());
    REQUIRE(quantized_weight(back.layer(0)) != nullptr);
    CHECK(quantized_weight(back.layer(0))->codes == layer.weight().codes);
    CHECK(quantized_weight(back.layer(0))->format == layer.weight().format);

    QuantizedMatrix bad = layer.weight();
    bad.codes[0] = 250;
    CHECK_THROWS_WITH_AS(check_consistent(bad, "w"), doctest::Contains("above 242"), Error);
  }
}

TEST_CASE("the ternary 784-256-128-10 MLP stores 47,108 bytes of codes, 1.6 bits per weight") {
  std::size_t code_bytes = 0, scale_bytes = 0;
  for (const auto& [in, out] :
       std::vector<std::pair<std::size_t, std::size_t>>{{784, 256}, {256, 128}, {128, 10}}) {
    const QuantizedMatrix q =
        quantize(std::vector<float>(in * out, 0.5f), out, in, ternary_channel);
    code_bytes += q.codes.size();
    scale_bytes += q.storage_bytes() - q.codes.size();
  }
  CHECK(code_bytes == 256 * 157 + 128 * 52 + 10 * 26);  // ceil(in / 5) bytes per row
  CHECK(code_bytes == 47108);
  CHECK(scale_bytes == (256 + 128 + 10) * 4);  // one float scale per row, no offsets
}
