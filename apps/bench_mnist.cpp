// bench_mnist: the speed of tinyq's kernels at the MLP's own shapes, measured
// the way apps/torch_reference.py measures PyTorch, so the two can
// be put side by side (apps/compare_with_torch.py does that in one run).
//
//   bench_mnist --data DIR --threads T [--kernel LIST] [--report FILE.json]
//
// It times: gemm at the Dense shapes (batch 64 and 10,000) and at
// 1024x1024x1024; training samples/s of the default MLP at batch 64 (plain
// train_step on shuffled batches, no augmentation); and inference of the
// trained model in float, int8 weight-only, int8 dynamic and static int8
// (--kernel picks which of the int8 kinds): batch-1 latency
// over 2000 test samples after 50 warm-up ones, and the whole test set in one
// batch, best of 3 after one warm-up pass. Static int8 is calibrated on 1024
// training images (--activations picks the observer) and timed through its
// integer pipeline from the raw u8 pixels, its natural input (the pixels are
// taken from the float images once, outside the timing).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "apps/data_location.hpp"
#include "apps/options.hpp"
#include "core/io/file_io.hpp"
#include "core/io/json_writer.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/isa.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "data/batcher.hpp"
#include "data/mnist.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
#include "nn/softmax_cross_entropy.hpp"
#include "nn/train_step.hpp"
#include "quant/quantize_model.hpp"
#include "quant/static_int8/quantize_static.hpp"
#include "quant/static_int8/static_network.hpp"

namespace tinyq {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// C = A · Bᵀ as Dense's forward does it (A [m, k], B [n, k]); best of
// several repetitions, each repeated until it has run for ~0.1 s.
double gemm_gflops(std::size_t m, std::size_t k, std::size_t n) {
  Rng rng(1);
  std::vector<float> a(m * k), b(n * k), c(m * n);
  for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : b) v = rng.uniform(-1.0f, 1.0f);
  const double flops = 2.0 * double(m) * double(n) * double(k);
  double best = 1e30;
  for (int trial = 0; trial < 5; ++trial) {
    std::size_t reps = 0;
    const auto start = Clock::now();
    do {
      gemm(Transpose::no, Transpose::yes, m, n, k, a.data(), k, b.data(), k, 0.0f, c.data(), n);
      ++reps;
    } while (seconds_since(start) < 0.1);
    best = std::min(best, seconds_since(start) / double(reps));
  }
  return flops / best * 1e-9;
}

struct InferenceTiming {
  double batch1_us_per_sample;
  double full_batch_samples_per_second;
};

InferenceTiming time_inference(Sequential& model, const Tensor& images) {
  const std::size_t features = images.dim(1);
  const std::size_t single = std::min<std::size_t>(2000, images.dim(0));
  Tensor one(Shape{1, features});
  auto run_one = [&](std::size_t i) {
    std::copy(images.row(i).begin(), images.row(i).end(), one.values().begin());
    model.forward(one);
  };
  for (std::size_t i = 0; i < 50; ++i) run_one(i);
  auto start = Clock::now();
  for (std::size_t i = 0; i < single; ++i) run_one(i);
  const double latency = seconds_since(start) / double(single);
  model.forward(images);
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    start = Clock::now();
    model.forward(images);
    best = std::min(best, seconds_since(start));
  }
  return {latency * 1e6, double(images.dim(0)) / best};
}

// The same two timings for the integer pipeline on u8 pixels.
InferenceTiming time_static_int8(const StaticInt8Network& network,
                                 const std::vector<std::uint8_t>& pixels) {
  const Isa isa = active_isa(KernelFamily::int8_gemm);
  const std::size_t in = network.inputs(), n = pixels.size() / in;
  const std::size_t single = std::min<std::size_t>(2000, n);
  std::vector<std::int32_t> scores(network.outputs());
  auto run_one = [&](std::size_t i) {
    network.scores(isa, std::span(pixels).subspan(i * in, in), scores);
  };
  for (std::size_t i = 0; i < 50; ++i) run_one(i);
  auto start = Clock::now();
  for (std::size_t i = 0; i < single; ++i) run_one(i);
  const double latency = seconds_since(start) / double(single);
  network.predict(isa, pixels);
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    start = Clock::now();
    network.predict(isa, pixels);
    best = std::min(best, seconds_since(start));
  }
  return {latency * 1e6, double(n) / best};
}

int bench_mnist(int argc, const char* const* argv) {
  Options options("bench_mnist",
                  "Times gemm, training and float/int8 inference of the MNIST MLP (see "
                  "apps/compare_with_torch.py for the side-by-side with PyTorch).");
  options.add("data", "DIR", "folder with the MNIST or Fashion-MNIST IDX files");
  options.add("threads", "T", "worker threads", "2");
  options.add("hidden", "LIST", "hidden layer widths", "256,128");
  options.add("batch", "N", "training minibatch size", "64");
  options.add("train-batches", "N", "minibatches to time training over (after 20 warm-up ones)",
              "600");
  options.add("lr", "RATE", "learning rate", "0.05");
  options.add("momentum", "M", "SGD momentum", "0.9");
  options.add("kernel", "LIST",
              "which quantized inference to time: weight_only, dynamic_int8, static_int8, "
              "comma-separated",
              "weight_only,dynamic_int8,static_int8");
  options.add("activations", "NAME",
              "static int8's activation observer: minmax, percentile, mse or entropy", "minmax");
  options.add("report", "FILE.json", "also write the results as JSON");
  if (!options.parse(argc, argv)) return 0;
  const auto threads = options.whole_number("threads", 1, 256);
  const auto hidden = options.number_list("hidden", 1, 65536);
  const auto batch = options.whole_number("batch", 1, 65536);
  const auto train_batches = options.whole_number("train-batches", 1, 1000000);
  const auto lr = static_cast<float>(options.real_number("lr", 0.0, 100.0));
  const auto momentum = static_cast<float>(options.real_number("momentum", 0.0, 0.999));
  std::vector<QuantizedKernel> kernels;
  bool static_int8 = false;
  for (const std::string& name :
       options.choice_list("kernel", {"weight_only", "dynamic_int8", "static_int8"})) {
    if (name == "static_int8")
      static_int8 = true;
    else
      kernels.push_back(parse_kernel(name));
  }
  const Observer observer =
      parse_observer(options.choice("activations", {"minmax", "percentile", "mse", "entropy"}));
  const auto report_path = options.optional_text("report");
  set_num_threads(threads);

  const Mnist data = load_mnist(locate_data(options.optional_text("data")));
  const std::size_t features = data.train.images.dim(1);
  JsonValue report = JsonValue::object();
  report.set("threads", threads);
  const char* gemm_isa = isa_name(active_isa(KernelFamily::gemm));
  const char* int8_isa = isa_name(active_isa(KernelFamily::int8_gemm));
  report.set("gemm_isa", gemm_isa);
  report.set("int8_isa", int8_isa);
  std::printf("threads %zu, gemm path %s, int8 path %s\n\n", std::size_t{threads}, gemm_isa,
              int8_isa);

  // GEMM at the Dense forward shapes, then the classic cube.
  std::vector<std::size_t> widths = {features};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(10);
  std::vector<std::array<std::size_t, 3>> shapes;
  for (const std::size_t rows : {std::size_t{batch}, data.test.size()})
    for (std::size_t l = 0; l + 1 < widths.size(); ++l)
      shapes.push_back({rows, widths[l], widths[l + 1]});
  shapes.push_back({1024, 1024, 1024});
  JsonValue gemm_rows = JsonValue::array();
  std::printf("%-22s %10s\n", "gemm m x k x n", "GFLOP/s");
  for (const auto& [m, k, n] : shapes) {
    const double gflops = gemm_gflops(m, k, n);
    std::printf("%-22s %10.1f\n",
                (std::to_string(m) + " x " + std::to_string(k) + " x " + std::to_string(n)).c_str(),
                gflops);
    gemm_rows.push(JsonValue::object({{"m", m}, {"k", k}, {"n", n}, {"gflops", gflops}}));
  }
  report.set("gemm", std::move(gemm_rows));

  // Training: the timed batches follow 20 warm-up ones; epochs wrap around.
  Sequential model = make_mlp(features, hidden, 10, 1);
  Sgd sgd({lr, momentum, 0.0f});
  SoftmaxCrossEntropy loss;
  Batcher batcher(data.train, batch, 1);
  Tensor images;
  std::vector<std::uint8_t> labels;
  auto step = [&] {
    if (!batcher.next(images, labels)) {
      batcher.start_epoch();
      batcher.next(images, labels);
    }
    train_step(model, loss, sgd, images, labels, lr);
    return labels.size();
  };
  for (int i = 0; i < 20; ++i) step();
  std::size_t samples = 0;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < train_batches; ++i) samples += step();
  const double train_rate = double(samples) / seconds_since(start);
  std::printf("\ntraining, batch %zu: %.0f samples/s (%zu batches)\n", std::size_t{batch},
              train_rate, std::size_t{train_batches});
  report.set("train_samples_per_second", train_rate);

  // Inference on the model just trained: float, then 8-bit per-channel
  // weights with each kernel asked for.
  std::vector<std::pair<std::string, Sequential>> quantized;
  for (const QuantizedKernel kernel : kernels) {
    QuantConfig config;
    config.kernel = kernel;
    quantized.emplace_back(
        kernel == QuantizedKernel::weight_only ? "int8_weight_only" : "int8_dynamic",
        quantize_model(model, config));
  }
  struct Variant {
    std::string name;
    Sequential* model;
  };
  std::vector<Variant> variants = {{"float", &model}};
  for (auto& [name, q] : quantized) variants.push_back({name, &q});
  JsonValue inference = JsonValue::object();
  std::printf("\n%-18s %10s %16s %12s\n", "inference", "batch-1 us", "full samples/s", "accuracy");
  for (Variant& v : variants) {
    const InferenceTiming t = time_inference(*v.model, data.test.images);
    const double acc =
        evaluate(*v.model, data.test.images, data.test.labels, data.test.size()).accuracy();
    std::printf("%-18s %10.1f %16.0f %11.2f%%\n", v.name.c_str(), t.batch1_us_per_sample,
                t.full_batch_samples_per_second, 100.0 * acc);
    inference.set(v.name, JsonValue::object(
                              {{"batch1_us_per_sample", t.batch1_us_per_sample},
                               {"full_batch_samples_per_second", t.full_batch_samples_per_second},
                               {"accuracy", acc}}));
  }
  if (static_int8) {
    Tensor calibration(Shape{std::min<std::size_t>(1024, data.train.size()), features});
    for (std::size_t r = 0; r < calibration.dim(0); ++r)
      std::copy(data.train.images.row(r).begin(), data.train.images.row(r).end(),
                calibration.row(r).begin());
    const StaticInt8Network network(
        quantize_static_int8(model, calibration, {.observer = observer}));
    const std::vector<std::uint8_t> pixels = pixels_of(data.test.images);
    const InferenceTiming t = time_static_int8(network, pixels);
    const auto classes = network.predict(active_isa(KernelFamily::int8_gemm), pixels);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < classes.size(); ++i) correct += classes[i] == data.test.labels[i];
    const double acc = double(correct) / double(classes.size());
    std::printf("%-18s %10.1f %16.0f %11.2f%%\n", "int8_static", t.batch1_us_per_sample,
                t.full_batch_samples_per_second, 100.0 * acc);
    inference.set(
        "int8_static",
        JsonValue::object({{"batch1_us_per_sample", t.batch1_us_per_sample},
                           {"full_batch_samples_per_second", t.full_batch_samples_per_second},
                           {"accuracy", acc},
                           {"activations", to_string(observer)}}));
  }
  report.set("inference", std::move(inference));
  if (report_path) write_text_file_atomically(*report_path, to_json(report));
  return 0;
}

}  // namespace

}  // namespace tinyq

int main(int argc, char** argv) {
  return tinyq::run_program("bench_mnist", tinyq::bench_mnist, argc, argv);
}
