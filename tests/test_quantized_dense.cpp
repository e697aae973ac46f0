// QuantizedDense: forward equals a float Dense holding the dequantized
// weights, for every format and odd shapes; backward refuses; payloads
// round-trip and corrupt ones are refused. The dynamic int8 kernel equals
// the dequantized layer applied to row-quantized inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "isa_paths.hpp"
#include "nn/dense.hpp"
#include "quant/dynamic_int8.hpp"
#include "quant/quantize.hpp"
#include "quant/quantize_model.hpp"
#include "quant/quantized_dense.hpp"
#include "random_tensor.hpp"

using namespace tinyq;

namespace {

using test::random_tensor;

QuantizedDense make_layer(std::size_t in, std::size_t out, const QuantFormat& f, Rng& rng) {
  Tensor w = random_tensor(Shape{out, in}, rng);
  // A positive shift so asymmetric offsets are far from zero.
  for (float& v : w.values()) v += 0.25f;
  return QuantizedDense(quantize(w, f), random_tensor(Shape{out}, rng));
}

// The float layer QuantizedDense stands for.
Dense dequantized_twin(const QuantizedDense& q) {
  Dense dense(q.inputs(), q.outputs());
  dense.weight() = dequantize(q.weight());
  dense.bias() = q.bias();
  return dense;
}

// How many outputs of y differ from expected by more than 1e-5 relative to
// the size of the terms summed (not to their possibly cancelling total).
std::size_t outputs_outside_tolerance(const QuantizedDense& layer, const Dense& twin,
                                      const Tensor& x, const Tensor& y, const Tensor& expected) {
  std::size_t bad = 0;
  for (std::size_t r = 0; r < y.dim(0); ++r)
    for (std::size_t j = 0; j < y.dim(1); ++j) {
      double magnitude = std::fabs(layer.bias()[j]);
      for (std::size_t i = 0; i < x.dim(1); ++i)
        magnitude += std::fabs(x(r, i)) * (std::fabs(twin.weight()(j, i)) + 1.25);
      if (std::fabs(y(r, j) - expected(r, j)) > 1e-5 * magnitude) ++bad;
    }
  return bad;
}

}  // namespace

TEST_CASE("forward equals a Dense holding the dequantized weights, every format and shape") {
  Rng rng(42);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {2, 3, 4, 8})
        for (const auto& shape : std::vector<std::pair<std::size_t, std::size_t>>{
                 {1, 1}, {7, 3}, {100, 13}, {33, 64}, {40, 37}})
          for (const std::size_t batch : {1u, 3u, 9u, 70u}) {
            const std::size_t in = shape.first;  // [in, out]
            const std::size_t out = shape.second;
            const QuantFormat f{scheme, granularity, bits, 16};
            CAPTURE(to_string(f));
            CAPTURE(in);
            CAPTURE(out);
            CAPTURE(batch);
            QuantizedDense layer = make_layer(in, out, f, rng);
            Dense twin = dequantized_twin(layer);
            const Tensor x = random_tensor(Shape{batch, in}, rng);
            const Tensor& y = layer.forward(x);
            const Tensor& expected = twin.forward(x);
            REQUIRE(y.shape() == expected.shape());
            CHECK(outputs_outside_tolerance(layer, twin, x, y, expected) == 0);
          }
}

TEST_CASE("a row's output does not depend on the rest of the batch") {
  Rng rng(3);
  QuantizedDense layer = make_layer(100, 20, {Scheme::asymmetric, Granularity::group, 4, 32}, rng);
  const Tensor x = random_tensor(Shape{70, 100}, rng);
  const Tensor all = layer.forward(x);
  for (const std::size_t r : {0u, 5u, 66u, 69u}) {
    const Tensor one(Shape{1, 100}, x.row(r));
    const Tensor& y = layer.forward(one);
    for (std::size_t j = 0; j < 20; ++j) CHECK(y(0, j) == all(r, j));
  }
}

TEST_CASE("weight-only outputs do not depend on the batch around a row or the thread count") {
  // 784 -> 256 is large enough that a few rows split the outputs between
  // two threads (the 8-bit widening and the 2- to 4-bit kernels alike),
  // where many rows split the rows.
  Rng rng(21);
  const std::size_t threads = num_threads();
  const QuantFormat formats[] = {{Scheme::asymmetric, Granularity::channel, 8, 64},
                                 {Scheme::symmetric, Granularity::group, 8, 64},
                                 {Scheme::asymmetric, Granularity::group, 4, 64},
                                 {Scheme::asymmetric, Granularity::group, 2, 32}};
  for (const QuantFormat& format : formats) {
    CAPTURE(format.bits);
    QuantizedDense layer = make_layer(784, 256, format, rng);
    const Tensor x = random_tensor(Shape{40, 784}, rng);
    set_num_threads(1);
    const Tensor all = layer.forward(x);
    for (const std::size_t t : {1, 2}) {
      set_num_threads(t);
      CHECK(std::memcmp(layer.forward(x).data(), all.data(), all.size() * sizeof(float)) == 0);
      for (const std::size_t rows : {1, 3}) {
        CAPTURE(t);
        CAPTURE(rows);
        const Tensor few(Shape{rows, 784}, std::span(x.data() + 7 * 784, rows * 784));
        const Tensor& y = layer.forward(few);
        CHECK(std::memcmp(y.data(), all.data() + 7 * 256, rows * 256 * sizeof(float)) == 0);
      }
    }
  }
  set_num_threads(threads);
}

TEST_CASE("forward checks the input width") {
  Rng rng(1);
  QuantizedDense layer = make_layer(10, 4, {Scheme::symmetric, Granularity::channel, 8, 64}, rng);
  CHECK_THROWS_WITH_AS(layer.forward(Tensor(Shape{2, 9})),
                       doctest::Contains("expected input [batch, 10], found [2, 9]"), Error);
}

TEST_CASE("backward is refused with a clear error") {
  Rng rng(1);
  QuantizedDense layer = make_layer(10, 4, {Scheme::symmetric, Granularity::channel, 8, 64}, rng);
  const Tensor x = random_tensor(Shape{2, 10}, rng);
  layer.forward(x);
  CHECK_THROWS_WITH_AS(layer.backward(Tensor(Shape{2, 4}), true),
                       doctest::Contains("inference only"), Error);
  CHECK(layer.parameters().empty());
}

TEST_CASE("describe, kind and sizes name what is stored") {
  Rng rng(1);
  QuantizedDense layer = make_layer(100, 3, {Scheme::asymmetric, Granularity::group, 4, 32}, rng);
  CHECK(layer.kind() == "quantized_dense");
  CHECK(layer.describe() == "QuantizedDense(100 -> 3, asymmetric/group-32/4-bit)");
  CHECK(layer.input_features() == 100u);
  CHECK(layer.output_features() == 3u);
  // 3 rows x 50 bytes of 4-bit codes, 3 x 4 groups x (scale + offset), 3 biases.
  CHECK(layer.storage_bytes() == 150 + 12 * 8 + 3 * 4);
}

TEST_CASE("the state dict round-trips to a layer with bit-identical outputs") {
  Rng rng(8);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {3, 8}) {
        QuantizedDense layer = make_layer(50, 7, {scheme, granularity, bits, 16}, rng);
        auto loaded = QuantizedDense::from_state(layer.state(), "test");
        const Tensor x = random_tensor(Shape{5, 50}, rng);
        const Tensor expected = layer.forward(x);
        const Tensor& y = loaded->forward(x);
        CHECK(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)) == 0);
        const auto clone = layer.clone();
        CHECK(std::memcmp(clone->forward(x).data(), expected.data(), y.size() * sizeof(float)) ==
              0);
      }
}

// The version 1 .tqm payload (before state dicts), as tinyq wrote it then.
std::vector<std::uint8_t> v1_payload(const QuantizedDense& layer) {
  const QuantizedMatrix& w = layer.weight();
  BinaryWriter out;
  out.u32(static_cast<std::uint32_t>(w.cols));
  out.u32(static_cast<std::uint32_t>(w.rows));
  out.u8(static_cast<std::uint8_t>(w.format.scheme));
  out.u8(static_cast<std::uint8_t>(w.format.granularity));
  out.u8(static_cast<std::uint8_t>(w.format.bits));
  out.u32(static_cast<std::uint32_t>(w.format.group_size));
  out.f32_array(w.scales);
  out.f32_array(w.offsets);
  out.raw(w.codes);
  out.f32_array(layer.bias().values());
  return out.bytes();
}

std::unique_ptr<Layer> load_v1(BinaryReader& in) {
  return QuantizedDense::from_state(QuantizedDense::state_from_v1_payload(in), in.source());
}

TEST_CASE("a version 1 payload reads back to the same layer") {
  Rng rng(5);
  QuantizedDense layer = make_layer(37, 4, {Scheme::symmetric, Granularity::group, 3, 16}, rng);
  const std::vector<std::uint8_t> bytes = v1_payload(layer);
  BinaryReader in(bytes, "v1");
  const auto loaded = load_v1(in);
  CHECK(in.remaining() == 0);
  CHECK(loaded->state().tensors == layer.state().tensors);
}

TEST_CASE("corrupt version 1 payloads are refused") {
  Rng rng(2);
  QuantizedDense layer = make_layer(20, 3, {Scheme::asymmetric, Granularity::channel, 4, 64}, rng);
  const std::vector<std::uint8_t> good = v1_payload(layer);
  // Layout: in(4) out(4) scheme(1) granularity(1) bits(1) group(4) = 15 header bytes,
  // then 3 scales, 3 offsets, 3 x 10 code bytes, 3 biases.
  const auto load_modified = [&](std::size_t at, std::uint8_t value) {
    std::vector<std::uint8_t> bytes = good;
    bytes[at] = value;
    BinaryReader in(bytes, "model.tqm");
    return load_v1(in);
  };
  CHECK_NOTHROW(load_modified(0, 20));
  CHECK_THROWS_WITH_AS(load_modified(0, 0), doctest::Contains("model.tqm"), Error);
  CHECK_THROWS_WITH_AS(load_modified(8, 2), doctest::Contains("unknown quantization scheme 2"),
                       Error);
  CHECK_THROWS_WITH_AS(load_modified(9, 3), doctest::Contains("granularity 3"), Error);
  CHECK_THROWS_WITH_AS(load_modified(10, 9), doctest::Contains("bit width"), Error);
  CHECK_THROWS_WITH_AS(load_modified(10, 1), doctest::Contains("bit width"), Error);
  CHECK_THROWS_WITH_AS(load_modified(11, 16), doctest::Contains("group size must be 0"), Error);
  CHECK_THROWS_AS(load_modified(9, 2), Error);  // group granularity with group size 0
  CHECK_THROWS_WITH_AS(load_modified(4, 200), doctest::Contains("only"), Error);  // 200 outputs
  CHECK_THROWS_WITH_AS(load_modified(7, 0x7F), doctest::Contains("bytes remain"), Error);
  // Scale 0 (bytes 15..18 are the first scale).
  std::vector<std::uint8_t> zero_scale = good;
  std::fill(zero_scale.begin() + 15, zero_scale.begin() + 19, 0);
  BinaryReader in(zero_scale, "model.tqm");
  CHECK_THROWS_WITH_AS(load_v1(in), doctest::Contains("scale 0"), Error);
  // Truncated anywhere.
  for (std::size_t keep = 0; keep < good.size(); keep += 7) {
    BinaryReader cut(std::span<const std::uint8_t>(good).first(keep), "model.tqm");
    CHECK_THROWS_AS(load_v1(cut), Error);
  }
}

// ---- the dynamic int8 kernel ----

namespace {

// quantize_row's definition, computed here in double rather than with the
// library's float steps: the range [min(x, 0), max(x, 0)] maps onto codes
// 0..127 (7 bits, see dynamic_int8.hpp), the zero point is -lo / step rounded to nearest (so 0 is
// exact), and each code is x / step + zero point rounded half up, clamped.
struct ReferenceRow {
  double step = 1.0;
  int zero_point = 0;
  std::vector<int> codes;
  // Whether a value was within 1e-4 of a rounding boundary, where float and
  // double may round differently (float's error here is below 2e-5).
  bool zero_point_near_tie = false;
  std::vector<bool> code_near_tie;
};

bool near_half(double v) {
  return std::fabs(v - std::floor(v) - 0.5) < 1e-4;
}

// zero_point, if given, replaces the rounded -lo / step (for near ties).
ReferenceRow reference_row(std::span<const float> x, std::optional<int> zero_point = {}) {
  ReferenceRow ref;
  double lo = 0.0, hi = 0.0;
  for (const float v : x) {
    lo = std::min(lo, double{v});
    hi = std::max(hi, double{v});
  }
  ref.codes.assign(x.size(), 0);
  ref.code_near_tie.assign(x.size(), false);
  if (!(hi > lo)) return ref;
  ref.step = (hi - lo) / 127.0;
  const double zero = -lo / ref.step;
  ref.zero_point_near_tie = near_half(zero);
  ref.zero_point = zero_point.value_or(static_cast<int>(std::min(127.0, std::floor(zero + 0.5))));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i] / ref.step + ref.zero_point;
    ref.code_near_tie[i] = near_half(v);
    ref.codes[i] = static_cast<int>(std::clamp(std::floor(v + 0.5), 0.0, 127.0));
  }
  return ref;
}

// x with each row replaced by its reference quantization: the input the
// dynamic path really multiplies. Where the reference is a near tie, the
// library's own rounding (checked to be one of the two candidates) decides.
Tensor row_quantized(const Tensor& x) {
  Tensor q(x.shape());
  std::vector<std::uint8_t> codes(x.dim(1));
  std::vector<std::int32_t> sums(1);
  for (std::size_t r = 0; r < x.dim(0); ++r) {
    ReferenceRow ref = reference_row(x.row(r));
    const RowQuantization library =
        quantize_row(active_isa(KernelFamily::int8_gemm), x.row(r), codes.data(), x.dim(1), sums);
    if (ref.zero_point_near_tie && std::abs(library.zero_point - ref.zero_point) == 1)
      ref = reference_row(x.row(r), library.zero_point);
    for (std::size_t i = 0; i < x.dim(1); ++i) {
      if (ref.code_near_tie[i] && std::abs(codes[i] - ref.codes[i]) == 1) ref.codes[i] = codes[i];
      q(r, i) = static_cast<float>((ref.codes[i] - ref.zero_point) * ref.step);
    }
  }
  return q;
}

}  // namespace

TEST_CASE("quantize_row keeps zero exact, errs by at most half a step, handles signs, sums runs") {
  std::vector<std::uint8_t> codes(5);
  std::int32_t sums[3];
  const std::vector<float> relu = {0.0f, 0.5f, 1.0f, 0.25f, 0.0f};
  const RowQuantization r1 =
      quantize_row(active_isa(KernelFamily::int8_gemm), relu, codes.data(), 2, sums);
  CHECK(r1.zero_point == 0);
  CHECK(codes[0] == 0);
  CHECK(codes[2] == 127);
  CHECK(sums[0] == codes[0] + codes[1]);
  CHECK(sums[1] == codes[2] + codes[3]);
  CHECK(sums[2] == codes[4]);
  const std::vector<float> mixed = {-2.0f, 0.0f, 1.0f, 0.3f, -0.7f};
  const RowQuantization r2 =
      quantize_row(active_isa(KernelFamily::int8_gemm), mixed, codes.data(), 2, sums);
  CHECK(codes[0] == 0);
  CHECK(codes[2] == 127);
  CHECK(static_cast<int>(codes[1]) == r2.zero_point);
  for (std::size_t i = 0; i < mixed.size(); ++i)
    CHECK(std::fabs((static_cast<int>(codes[i]) - r2.zero_point) * r2.step - mixed[i]) <=
          0.5f * r2.step + 1e-6f);
  const std::vector<float> zeros(5, 0.0f);
  const RowQuantization r3 =
      quantize_row(active_isa(KernelFamily::int8_gemm), zeros, codes.data(), 2, sums);
  CHECK(r3.zero_point == 0);
  CHECK(codes[4] == 0);
}

TEST_CASE("quantize_row matches the reference zero point, codes and run sums on random rows") {
  Rng rng(29);
  std::size_t skipped = 0, rows = 0;
  for (const Isa isa : test::paths_to_test(KernelFamily::int8_gemm))
    for (std::size_t trial = 0; trial < 600; ++trial) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(trial);
      // Widths around the vector lengths; ranges all-positive, mixed, all-negative.
      const std::size_t n = 1 + rng.below(100);
      const float shift = trial % 3 == 0 ? 1.0f : trial % 3 == 1 ? 0.0f : -1.0f;
      const std::vector<float> x = test::random_values(n, rng, shift - 1.0f, shift + 1.0f);
      const ReferenceRow ref = reference_row(x);
      if (ref.zero_point_near_tie) {
        ++skipped;
        continue;
      }
      ++rows;
      std::vector<std::uint8_t> codes(n);
      const std::size_t run = 1 + rng.below(40);
      std::vector<std::int32_t> sums((n + run - 1) / run);
      const RowQuantization q = quantize_row(isa, x, codes.data(), run, sums);
      REQUIRE(q.zero_point == ref.zero_point);
      CHECK(q.step == doctest::Approx(ref.step).epsilon(1e-6));
      std::size_t wrong_codes = 0, outside_half_step = 0;
      for (std::size_t i = 0; i < n; ++i) {
        wrong_codes +=
            ref.code_near_tie[i] ? std::abs(codes[i] - ref.codes[i]) > 1 : codes[i] != ref.codes[i];
        const double error = (codes[i] - ref.zero_point) * ref.step - x[i];
        outside_half_step += std::fabs(error) > 0.5 * ref.step * (1 + 1e-5);
      }
      CHECK(wrong_codes == 0);
      CHECK(outside_half_step == 0);
      // Each run's sum is of the codes written: where a code lies near a
      // tie it may differ from the reference's by one (checked above).
      for (std::size_t g = 0; g < sums.size(); ++g) {
        std::int32_t expected = 0;
        for (std::size_t i = g * run; i < std::min(n, (g + 1) * run); ++i) expected += codes[i];
        CHECK(sums[g] == expected);
      }
    }
  CHECK(skipped < rows / 100);  // near-tie zero points are rare, not the norm
}

TEST_CASE("dynamic_int8 equals the dequantized layer applied to row-quantized inputs") {
  Rng rng(17);
  for (const Scheme scheme : {Scheme::asymmetric, Scheme::symmetric})
    for (const Granularity granularity :
         {Granularity::tensor, Granularity::channel, Granularity::group})
      for (const int bits : {4, 8})
        for (const auto& shape : std::vector<std::pair<std::size_t, std::size_t>>{
                 {1, 1}, {7, 13}, {100, 13}, {33, 64}, {40, 37}})
          for (const std::size_t batch : {1u, 7u, 70u}) {
            const std::size_t in = shape.first;
            const std::size_t out = shape.second;
            const QuantFormat f{scheme, granularity, bits, 16};
            CAPTURE(to_string(f));
            CAPTURE(in);
            CAPTURE(out);
            CAPTURE(batch);
            QuantizedDense layer = make_layer(in, out, f, rng);
            layer.set_kernel(QuantizedKernel::dynamic_int8);
            Dense twin = dequantized_twin(layer);
            // Half the rows non-negative (like ReLU outputs), half mixed.
            Tensor x = random_tensor(Shape{batch, in}, rng);
            for (std::size_t r = 0; r < batch; r += 2)
              for (float& v : x.row(r)) v = std::fabs(v);
            const Tensor& y = layer.forward(x);
            const Tensor& expected = twin.forward(row_quantized(x));
            REQUIRE(y.shape() == expected.shape());
            CHECK(outputs_outside_tolerance(layer, twin, x, y, expected) == 0);
          }
}

TEST_CASE("dynamic_int8 outputs do not depend on the batch around a row or the thread count") {
  Rng rng(5);
  QuantizedDense layer =
      make_layer(784, 40, {Scheme::asymmetric, Granularity::channel, 8, 64}, rng);
  layer.set_kernel(QuantizedKernel::dynamic_int8);
  const Tensor x = random_tensor(Shape{130, 784}, rng);
  const std::size_t threads = num_threads();
  set_num_threads(1);
  const Tensor one_thread = layer.forward(x);
  set_num_threads(2);
  const Tensor two_threads = layer.forward(x);
  set_num_threads(threads);
  CHECK(std::memcmp(one_thread.data(), two_threads.data(), one_thread.size() * sizeof(float)) == 0);
  const Tensor row(Shape{1, 784}, x.row(77));
  const Tensor& y = layer.forward(row);
  for (std::size_t j = 0; j < 40; ++j) CHECK(y(0, j) == one_thread(77, j));
}

TEST_CASE(
    "both kernels on batches of 385+ rows: float twin, row by row, same bits at 1-3 threads") {
  // 385 rows = two of weight_only's 192-row blocks and one more row, so a
  // thread that runs several blocks must read every block's own inputs.
  const std::size_t saved_threads = num_threads();
  Rng rng(11);
  for (const QuantizedKernel kernel : {QuantizedKernel::weight_only, QuantizedKernel::dynamic_int8})
    for (const std::size_t batch : {385u, 452u}) {
      CAPTURE(static_cast<int>(kernel));
      CAPTURE(batch);
      QuantizedDense layer =
          make_layer(150, 19, {Scheme::asymmetric, Granularity::group, 4, 32}, rng);
      layer.set_kernel(kernel);
      Dense twin = dequantized_twin(layer);
      Tensor x = random_tensor(Shape{batch, 150}, rng);
      for (std::size_t r = 0; r < batch; r += 2)
        for (float& v : x.row(r)) v = std::fabs(v);
      const Tensor expected =
          twin.forward(kernel == QuantizedKernel::dynamic_int8 ? row_quantized(x) : x);
      Tensor first;
      for (const std::size_t threads : {1u, 2u, 3u}) {
        CAPTURE(threads);
        set_num_threads(threads);
        const Tensor y = layer.forward(x);
        CHECK(outputs_outside_tolerance(layer, twin, x, y, expected) == 0);
        if (threads == 1)
          first = y;
        else
          CHECK(std::memcmp(y.data(), first.data(), y.size() * sizeof(float)) == 0);
      }
      // One row at a time (the packed low-bit codes' small-batch path, on the
      // calling thread: the layer is far below min_products_per_thread).
      for (const std::size_t threads : {1u, 2u, 3u}) {
        CAPTURE(threads);
        set_num_threads(threads);
        std::size_t rows_differing = 0;
        for (std::size_t r = 0; r < batch; ++r) {
          const Tensor& one = layer.forward(Tensor(Shape{1, 150}, x.row(r)));
          rows_differing += std::memcmp(one.data(), first.row(r).data(), 19 * sizeof(float)) != 0;
        }
        CHECK(rows_differing == 0);
      }
    }
  set_num_threads(saved_threads);
}

TEST_CASE(
    "small batches of a low-bit layer large enough to split give the same bits at 1-3 threads") {
  // 784 x 700 is 548,800 products a row: at 2 threads one row is split
  // between the threads by panels (min_products_per_thread · 2 = 524,288),
  // at 3 threads two rows are; each output is the same sum either way. The
  // outputs start as NaN, so one left unwritten shows.
  const std::size_t saved_threads = num_threads();
  Rng rng(19);
  const QuantizedDense layer =
      make_layer(784, 700, {Scheme::asymmetric, Granularity::group, 4, 64}, rng);
  const DynamicInt8Weights weights(layer.weight());
  const Isa isa = active_isa(KernelFamily::int8_gemm);
  const Tensor x = random_tensor(Shape{3, 784}, rng);
  set_num_threads(1);
  Tensor expected;
  weights.forward(isa, x, layer.bias().values(), expected, false);
  for (const std::size_t threads : {1u, 2u, 3u})
    for (const std::size_t rows : {1u, 2u, 3u}) {
      CAPTURE(threads);
      CAPTURE(rows);
      set_num_threads(threads);
      Tensor part(Shape{rows, 784});
      for (std::size_t r = 0; r < rows; ++r)
        std::copy(x.row(r).begin(), x.row(r).end(), part.row(r).begin());
      Tensor y(Shape{rows, 700});
      std::fill(y.values().begin(), y.values().end(), std::numeric_limits<float>::quiet_NaN());
      weights.forward(isa, part, layer.bias().values(), y, false);
      CHECK(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)) == 0);
    }
  set_num_threads(saved_threads);
}

TEST_CASE("the kernel setting survives clone and starts as weight_only") {
  Rng rng(2);
  QuantizedDense layer = make_layer(20, 5, {Scheme::symmetric, Granularity::channel, 8, 64}, rng);
  CHECK(layer.kernel() == QuantizedKernel::weight_only);
  layer.set_kernel(QuantizedKernel::dynamic_int8);
  const auto copy = layer.clone();
  CHECK(dynamic_cast<const QuantizedDense&>(*copy).kernel() == QuantizedKernel::dynamic_int8);
  CHECK(parse_kernel("dynamic_int8") == QuantizedKernel::dynamic_int8);
  CHECK_THROWS_AS(parse_kernel("int4"), Error);
}

TEST_CASE("a quantized model's forward applies each ReLU in the layer before it, same bits") {
  // Sequential::forward lets a layer that offers forward_then_relu apply the
  // ReLU after it, and every quantized layer does: weight-only ones, 8-bit
  // codes on the dynamic path (in rescale_row) and 4-bit ones there (on
  // each block the packed low-bit kernel finished). The outputs must be
  // those of the layers run one at a time, ReLU layers included. Groups of
  // 16 inputs make several runs per row, of which only the last may apply
  // the ReLU (a partial sum may be negative). One row splits the outputs
  // between the threads, 37 the rows.
  const Sequential model = make_mlp(70, {45, 33}, 10, 3);
  Rng rng(17);
  for (const std::size_t batch : {std::size_t{37}, std::size_t{1}}) {
    const Tensor x = random_tensor(Shape{batch, 70}, rng);
    for (const int bits : {8, 4})
      for (const Granularity granularity : {Granularity::channel, Granularity::group})
        for (const QuantizedKernel kernel :
             {QuantizedKernel::dynamic_int8, QuantizedKernel::weight_only}) {
          CAPTURE(batch);
          CAPTURE(bits);
          CAPTURE(static_cast<int>(granularity));
          CAPTURE(static_cast<int>(kernel));
          QuantConfig config;
          config.format = {Scheme::asymmetric, granularity, bits, 16};
          config.kernel = kernel;
          Sequential quantized = quantize_model(model, config);
          Tensor layer_by_layer = x;
          for (std::size_t i = 0; i < quantized.size(); ++i) {
            Layer& layer = quantized.layer(i);
            if (layer.kind() == "quantized_dense")
              CHECK(layer.forward_then_relu(layer_by_layer) != nullptr);
            layer_by_layer = Tensor(layer.forward(layer_by_layer));
          }
          const Tensor& y = quantized.forward(x);
          REQUIRE(y.shape() == layer_by_layer.shape());
          CHECK(std::memcmp(y.data(), layer_by_layer.data(), y.size() * sizeof(float)) == 0);
        }
  }
}

TEST_CASE("quantize_model hands QuantConfig::kernel to every quantized layer") {
  const Sequential model = make_mlp(12, {8}, 3, 1);
  QuantConfig config;
  config.kernel = QuantizedKernel::dynamic_int8;
  const Sequential quantized = quantize_model(model, config);
  std::size_t dynamic = 0;
  for (std::size_t i = 0; i < quantized.size(); ++i)
    if (const auto* q = dynamic_cast<const QuantizedDense*>(&quantized.layer(i)))
      dynamic += q->kernel() == QuantizedKernel::dynamic_int8;
  CHECK(dynamic == 2);
}

TEST_CASE(
    "2- to 4-bit asymmetric weight-only outputs stay within float rounding of the exact sum") {
  // Codes q with the block's own offset, w = q / s + m: no term of the
  // kernel's step · Σ x·q + m · Σ x is much larger than the result. (With
  // q - 128 and 128 steps folded into the offset, as the 8-bit path writes
  // its codes, both terms grew by about 2^7 and so did the error.)
  Rng rng(29);
  for (const int bits : {2, 3, 4})
    for (const std::size_t batch : {1u, 5u, 40u}) {
      CAPTURE(bits);
      CAPTURE(batch);
      QuantizedDense layer =
          make_layer(784, 64, {Scheme::asymmetric, Granularity::group, bits, 64}, rng);
      const Tensor w = dequantize(layer.weight());
      Tensor x = random_tensor(Shape{batch, 784}, rng);
      for (float& v : x.values()) v = std::fabs(v);  // as after a ReLU
      const Tensor& y = layer.forward(x);
      double worst = 0.0;
      for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t j = 0; j < 64; ++j) {
          double exact = layer.bias()[j], magnitude = std::fabs(layer.bias()[j]);
          for (std::size_t i = 0; i < 784; ++i) {
            exact += double(x(r, i)) * double(w(j, i));
            magnitude += std::fabs(double(x(r, i)) * double(w(j, i)));
          }
          worst = std::max(worst, std::fabs(double(y(r, j)) - exact) / magnitude);
        }
      // Measured: at most 2.8e-7 on every path; 2.8e-6 to 2.1e-5 folded.
      CHECK(worst < 1e-6);
    }
}
