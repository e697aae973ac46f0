// Quantization reports on cases small enough to check by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"
#include "quant/quantize_model.hpp"
#include "quant/report.hpp"

using namespace tinyq;

namespace {

// Dense(3 -> 1) holding the worked example [400, 500, 600], then ReLU.
Sequential worked_example_model() {
  auto dense = std::make_unique<Dense>(3, 1);
  dense->weight()[0] = 400.0f;
  dense->weight()[1] = 500.0f;
  dense->weight()[2] = 600.0f;
  Sequential model;
  model.add(std::move(dense));
  model.add(std::make_unique<Relu>());
  return model;
}

}  // namespace

TEST_CASE("measure_error gives max, RMS and SQNR") {
  const std::vector<float> w = {1, 2, 3, 4};
  const std::vector<float> approx = {1, 2, 3, 3.5f};
  const ErrorStats e = measure_error(w, approx);
  CHECK(e.max_abs_error == 0.5);
  CHECK(e.rms_error == doctest::Approx(0.25));                      // sqrt(0.25 / 4)
  CHECK(e.sqnr_db == doctest::Approx(10 * std::log10(30 / 0.25)));  // 20.79 dB
}

TEST_CASE("an exact copy has zero error and infinite SQNR, an empty one too") {
  const std::vector<float> w = {0.5f, -2.0f};
  const ErrorStats exact = measure_error(w, w);
  CHECK(exact.max_abs_error == 0.0);
  CHECK(exact.rms_error == 0.0);
  CHECK(std::isinf(exact.sqnr_db));
  CHECK(exact.sqnr_db > 0);
  const ErrorStats empty = measure_error({}, {});
  CHECK(empty.rms_error == 0.0);
  CHECK(std::isinf(empty.sqnr_db));
  CHECK_THROWS_AS(measure_error(w, std::vector<float>{1.0f}), Error);
}

TEST_CASE("the worked example's layer report: 500 -> 500.392, 16 bytes -> 15") {
  const Sequential model = worked_example_model();
  QuantConfig config;
  config.format.scheme = Scheme::asymmetric;
  config.format.granularity = Granularity::tensor;
  const std::vector<LayerReport> reports =
      quantization_report(model, quantize_model(model, config));
  REQUIRE(reports.size() == 1);  // the ReLU has nothing to report
  const LayerReport& r = reports[0];
  CHECK(r.index == 0);
  CHECK(r.layer == "QuantizedDense(3 -> 1, asymmetric/tensor/8-bit)");
  const double error = 128 / 1.275 - 100;  // 0.392157: only 500 moves
  CHECK(r.weight_error.max_abs_error == doctest::Approx(error).epsilon(1e-5));
  CHECK(r.weight_error.rms_error == doctest::Approx(error / std::sqrt(3.0)).epsilon(1e-5));
  CHECK(r.weight_error.sqnr_db ==
        doctest::Approx(10 * std::log10((400.0 * 400 + 500 * 500 + 600 * 600) / (error * error)))
            .epsilon(1e-5));       // about 67.0 dB
  CHECK(r.float_bytes == 16);      // 3 weights + 1 bias, 4 bytes each
  CHECK(r.quantized_bytes == 15);  // 3 codes + scale + offset + float bias
}

TEST_CASE("layers kept in float are left out of the report") {
  const Sequential model = make_mlp(10, {6}, 3, 4);
  QuantConfig config;
  config.format.bits = 4;
  config.keep_float = {2};
  const auto reports = quantization_report(model, quantize_model(model, config));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].index == 0);
  // 6 rows x 5 bytes of 4-bit codes, 6 scales + 6 offsets, 6 biases.
  CHECK(reports[0].quantized_bytes == 30 + 12 * 4 + 6 * 4);
  CHECK(reports[0].float_bytes == (60 + 6) * 4);
  CHECK_THROWS_AS(quantization_report(model, Sequential()), Error);
}

TEST_CASE("format_report prints one line per layer, exact layers as exact, and a total") {
  std::vector<LayerReport> reports(2);
  reports[0].index = 0;
  reports[0].layer = "QuantizedDense(3 -> 1, asymmetric/tensor/8-bit)";
  reports[0].weight_error = {0.5, 0.25, 20.8};
  reports[0].float_bytes = 16;
  reports[0].quantized_bytes = 15;
  reports[1].index = 2;
  reports[1].layer = "QuantizedDense(1 -> 1, symmetric/tensor/8-bit)";
  reports[1].weight_error = {0.0, 0.0, INFINITY};
  reports[1].float_bytes = 8;
  reports[1].quantized_bytes = 9;
  const std::string text = format_report(reports);
  CHECK(text.find("20.8 dB") != std::string::npos);
  CHECK(text.find("exact") != std::string::npos);
  CHECK(text.find("total") != std::string::npos);
  CHECK(text.find(" 24 ") != std::string::npos);   // float bytes in total
  CHECK(text.find("1.000") != std::string::npos);  // 24 -> 24
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);
}

TEST_CASE("with calibration inputs each layer reports its output error on them") {
  // y = 400·x0 + 500·x1 + 600·x2; only 500 moves (to 500 + e), so for the
  // input [1, 2, 0] the output moves by 2e, against an exact y of 1400.
  const Sequential model = worked_example_model();
  QuantConfig config;
  config.format.granularity = Granularity::tensor;
  const Sequential quantized = quantize_model(model, config);
  const Tensor calibration(Shape{1, 3}, std::vector<float>{1, 2, 0});
  const auto reports = quantization_report(model, quantized, calibration);
  REQUIRE(reports.size() == 1);
  const double e = 128 / 1.275 - 100;
  CHECK(reports[0].has_output_error);
  CHECK(reports[0].output_error.count == 1);
  CHECK(reports[0].output_error.max_abs_error == doctest::Approx(2 * e).epsilon(1e-4));
  CHECK(reports[0].output_error.sqnr_db ==
        doctest::Approx(10 * std::log10(1400.0 * 1400 / (4 * e * e))).epsilon(1e-4));
  CHECK(total_output_error(reports).count == 1);
  CHECK(format_report(reports).find("output SQNR") != std::string::npos);
  // Without calibration inputs there is none, and the table has no such column.
  const auto plain = quantization_report(model, quantized);
  CHECK_FALSE(plain[0].has_output_error);
  CHECK(format_report(plain).find("output SQNR") == std::string::npos);
  CHECK_THROWS_AS(quantization_report(model, quantized, Tensor(Shape{1, 4})), Error);
}

TEST_CASE("a later layer's output error is measured on the inputs the quantized layers give it") {
  // Both layers quantized at 2 bits: layer 2's exact output is computed from
  // layer 0's quantized output, so its error is its own rounding alone; it
  // matches quantizing layer 2 alone, on inputs through a quantized layer 0.
  const Sequential model = make_mlp(6, {5}, 3, 7);
  QuantConfig config;
  config.format.bits = 2;
  const Sequential quantized = quantize_model(model, config);
  Tensor calibration(Shape{4, 6});
  for (std::size_t i = 0; i < calibration.size(); ++i)
    calibration.values()[i] = float(i % 5) * 0.25f;
  const auto both = quantization_report(model, quantized, calibration);
  REQUIRE(both.size() == 2);
  Sequential first_only = model;
  first_only.replace(0, quantized.layer(0).clone());
  Sequential last_too = first_only;
  last_too.replace(2, quantized.layer(2).clone());
  const auto last = quantization_report(first_only, last_too, calibration);
  REQUIRE(last.size() == 1);
  CHECK(last[0].output_error.squared_error == doctest::Approx(both[1].output_error.squared_error));
  CHECK(both[1].output_error.count == 4 * 3);
}
