// bench_mnist: the speed of tinyq's kernels at the MLP's own shapes, measured
// the way apps/torch_reference.py measures PyTorch, so the two can
// be put side by side (apps/compare_with_torch.py does that in one run).
//
//   bench_mnist --data DIR --threads T [--kernel LIST] [--report FILE.json]
//
// It times: training samples/s of the MLP (--hidden, --batch; plain
// train_step on shuffled batches, no augmentation), with the memory held
// after it; gemm at the Dense shapes (the batch and 10,000 rows) and at
// 1024x1024x1024, whose rate gives train_fraction_of_peak (training FLOP/s
// over the 1024³ gemm's, measured in alternating pairs in this run); and inference of the
// trained model in float, int8 weight-only, int8 dynamic and static int8
// (--kernel picks which of the int8 kinds) and, with weight_only, 4-, 3- and
// 2-bit weight-only (asymmetric, a scale per group of 64 inputs), with
// dynamic_int8 the 4- and 2-bit formats on 7-bit activations: batch-1 latency
// over 2000 test samples after 50 warm-up ones, and the whole test set in one
// batch, best of 3 after one warm-up pass. Static int8 is calibrated on 1024
// training images (--activations picks the observer), with 8-bit weights and
// with 7-bit ones (int8_static_w7: the exact vpmaddubsw kernel on AVX2), and timed through its
// integer pipeline from the raw u8 pixels, its natural input (the pixels are
// taken from the float images once, outside the timing). Last, QAT's cost
// (--qat-rounds): QAT training of copies of the trained model against float
// training, alternating (see time_qat).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "apps/data_location.hpp"
#include "apps/options.hpp"
#include "core/io/file_io.hpp"
#include "core/io/json_writer.hpp"
#include "core/kernels/fma_peak.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/int8_gemm.hpp"
#include "core/kernels/isa.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "data/batcher.hpp"
#include "data/mnist.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
#include "nn/softmax_cross_entropy.hpp"
#include "nn/train_step.hpp"
#include "quant/qat.hpp"
#include "quant/quantize_model.hpp"
#include "quant/static_int8/quantize_static.hpp"
#include "quant/static_int8/static_network.hpp"

namespace tinyq {

namespace {

using Clock = std::chrono::steady_clock;

// The sub-8-bit weight-only entries: asymmetric codes with a scale and
// offset per 64 inputs (the group format of quantize_eval's sweep).
constexpr std::size_t low_bit_group = 64;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// C = A · Bᵀ as Dense's forward does it (A [m, k], B [n, k]); best of
// `trials` repetitions, each repeated until it has run for ~0.1 s.
double gemm_gflops(std::size_t m, std::size_t k, std::size_t n, int trials = 5) {
  Rng rng(1);
  std::vector<float> a(m * k), b(n * k), c(m * n);
  for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : b) v = rng.uniform(-1.0f, 1.0f);
  const double flops = 2.0 * double(m) * double(n) * double(k);
  double best = 1e30;
  for (int trial = 0; trial < trials; ++trial) {
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

// FLOP of one sample through Dense layers of these widths: each product of
// in·out multiply-adds is 2·in·out FLOP. A forward pass runs one product per
// layer (Y = X·Wᵀ); training also the weight gradient (dW = Gᵀ·X) and,
// except in the first layer, which needs no input gradient, dX = G·W. Bias,
// ReLU, loss and the update are O(out) per sample and not counted.
double dense_flop_per_sample(const std::vector<std::size_t>& widths, double first_layer_products,
                             double other_layer_products) {
  double flop = 0.0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l)
    flop += 2.0 * double(widths[l]) * double(widths[l + 1]) *
            (l == 0 ? first_layer_products : other_layer_products);
  return flop;
}

// The most memory this process has held so far (peak resident set).
double peak_rss_megabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

// The memory this process holds now (resident set), from /proc/self/statm
// (0 where that does not exist).
double current_rss_megabytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0.0;
  return double(pages_resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

struct TrainingTiming {
  double samples_per_second;
  double rss_mb;  // held at the end, the optimizer's momentum still alive
};

// Trains `model` on shuffled batches (no augmentation): train_batches timed
// ones after `warm_up` untimed ones; epochs wrap around.
TrainingTiming time_training(Sequential& model, const Dataset& train, std::size_t batch,
                             std::size_t train_batches, float lr, float momentum,
                             std::size_t warm_up = 20) {
  Sgd sgd({lr, momentum, 0.0f});
  SoftmaxCrossEntropy loss;
  Batcher batcher(train, batch, 1);
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
  for (std::size_t i = 0; i < warm_up; ++i) step();
  std::size_t samples = 0;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < train_batches; ++i) samples += step();
  const double rate = double(samples) / seconds_since(start);
  return {rate, current_rss_megabytes()};
}

// What quantization-aware training costs over float training: QAT models
// made from the trained float model (2-bit asymmetric per channel on the
// min-max grid; the same with learned steps; ternary with learned steps),
// each timed in rounds alternating with float training of a copy of the
// model over the same number of batches, so that a busy machine slows both
// alike. Each rate is its best round; the cost is the median over rounds of
// float rate / QAT rate within the round (robust to one lucky float round).
// Sets qat_train_samples_per_second (2-bit) and "qat" (all) in `report`.
void time_qat(const Sequential& trained, const Dataset& train, std::size_t batch,
              std::size_t train_batches, float lr, float momentum, std::size_t rounds,
              JsonValue& report) {
  const QuantFormat two_bit{Scheme::asymmetric, Granularity::channel, 2, 64};
  const QuantFormat ternary{Scheme::ternary, Granularity::channel, ternary_bits, 64};
  struct Variant {
    std::string name;
    Sequential model;
    std::vector<double> rates = {};  // one per round
  };
  std::vector<Variant> variants;
  variants.push_back({"float", trained});
  variants.push_back({"qat_2bit", make_qat_model(trained, {two_bit, "minmax", false})});
  variants.push_back(
      {"qat_2bit_learned_scale", make_qat_model(trained, {two_bit, "minmax", true})});
  variants.push_back(
      {"qat_ternary_learned_scale", make_qat_model(trained, {ternary, "minmax", true})});
  for (std::size_t round = 0; round < rounds; ++round)
    for (Variant& v : variants)
      v.rates.push_back(
          time_training(v.model, train, batch, train_batches, lr, momentum).samples_per_second);
  std::printf("\n%-26s %14s %12s   (%zu rounds, alternating)\n", "training", "best samples/s",
              "median cost", rounds);
  JsonValue out = JsonValue::object();
  out.set("rounds", rounds);
  for (const Variant& v : variants) {
    const double best = *std::max_element(v.rates.begin(), v.rates.end());
    std::vector<double> costs;
    for (std::size_t round = 0; round < rounds; ++round)
      costs.push_back(variants[0].rates[round] / v.rates[round]);
    std::sort(costs.begin(), costs.end());
    const double cost =
        rounds % 2 == 1 ? costs[rounds / 2] : (costs[rounds / 2 - 1] + costs[rounds / 2]) / 2.0;
    std::printf("%-26s %14.0f %11.2fx\n", v.name.c_str(), best, cost);
    out.set(v.name + "_train_samples_per_second", best);
    if (v.name != "float") out.set(v.name + "_cost", cost);
  }
  report.set("qat_train_samples_per_second",
             *std::max_element(variants[1].rates.begin(), variants[1].rates.end()));
  report.set("qat", std::move(out));
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
    model.predict(one);
  };
  for (std::size_t i = 0; i < 50; ++i) run_one(i);
  auto start = Clock::now();
  for (std::size_t i = 0; i < single; ++i) run_one(i);
  const double latency = seconds_since(start) / double(single);
  model.predict(images);
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    start = Clock::now();
    model.predict(images);
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
  options.add("test-samples", "N",
              "time whole-set inference (and the 10,000-row gemm shapes) on the first N test "
              "samples, 0 for all (fewer keeps big --hidden quick)",
              "0");
  options.add("activations", "NAME",
              "static int8's activation observer: minmax, percentile, mse or entropy", "minmax");
  options.add("qat-rounds", "N", "rounds of QAT training timed against float training (0: none)",
              "3");
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
  const auto test_limit = options.whole_number("test-samples", 0, 1000000);
  const auto qat_rounds = options.whole_number("qat-rounds", 0, 100);
  set_num_threads(threads);

  const Mnist data = load_mnist(locate_data(options.optional_text("data")));
  const std::size_t features = data.train.features();
  JsonValue report = JsonValue::object();
  report.set("threads", threads);
  const char* gemm_isa = isa_name(active_isa(KernelFamily::gemm));
  const Isa int8_path = active_isa(KernelFamily::int8_gemm);
  const char* int8_isa = isa_name(int8_path);
  const bool amx = int8_uses_amx(int8_path);
  report.set("gemm_isa", gemm_isa);
  report.set("int8_isa", int8_isa);
  report.set("int8_amx", amx);
  std::printf("threads %zu, gemm path %s, int8 path %s%s\n\n", std::size_t{threads}, gemm_isa,
              int8_isa, amx ? " with AMX tiles" : "");

  std::vector<std::size_t> widths = {features};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(10);

  // Training first, so the peak RSS read after it is training's own (the
  // gemm timings below allocate more than a small model does).
  Sequential model = make_mlp(features, hidden, 10, 1);
  const TrainingTiming training =
      time_training(model, data.train, batch, train_batches, lr, momentum);
  const double train_rss = training.rss_mb, train_peak_rss = peak_rss_megabytes();

  // GEMM at the Dense forward shapes, then the classic cube.
  std::vector<std::array<std::size_t, 3>> shapes;
  const std::size_t test_rows =
      test_limit == 0 ? data.test.size() : std::min<std::size_t>(data.test.size(), test_limit);
  for (const std::size_t rows : {std::size_t{batch}, test_rows})
    for (std::size_t l = 0; l + 1 < widths.size(); ++l)
      shapes.push_back({rows, widths[l], widths[l + 1]});
  shapes.push_back({1024, 1024, 1024});
  JsonValue gemm_rows = JsonValue::array();
  double cube_gflops = 0.0;  // the 1024³ rate: the machine's peak, as tinyq reaches it
  std::printf("%-22s %10s\n", "gemm m x k x n", "GFLOP/s");
  for (const auto& [m, k, n] : shapes) {
    const double gflops = gemm_gflops(m, k, n);
    if (m == 1024 && k == 1024 && n == 1024) cube_gflops = gflops;
    std::printf("%-22s %10.1f\n",
                (std::to_string(m) + " x " + std::to_string(k) + " x " + std::to_string(n)).c_str(),
                gflops);
    gemm_rows.push(JsonValue::object({{"m", m}, {"k", k}, {"n", n}, {"gflops", gflops}}));
  }
  report.set("gemm", std::move(gemm_rows));
  // Above the cube, the FMA units' own limit (core/kernels/fma_peak.hpp).
  const double fma_peak = fma_peak_gflops(active_isa(KernelFamily::gemm), 0.2);
  std::printf("%-22s %10.1f  (the 1024^3 gemm reaches %.2f of it)\n", "fma peak", fma_peak,
              cube_gflops / fma_peak);
  report.set("fma_peak_gflops", fma_peak);
  report.set("gemm_fraction_of_fma_peak", cube_gflops / fma_peak);

  // Training's share of the machine: the FLOP it does per second over what
  // gemm does at 1024³. The host's speed drifts over seconds, so the two are
  // measured in pairs: a 0.1 s cube trial, then a fifth of the training
  // batches on a copy of the model, five times; the fraction is the median
  // of the five pairs' ratios (a slow phase slows both halves of a pair).
  const double flop_per_sample = dense_flop_per_sample(widths, 2.0, 3.0);
  std::vector<double> pair_fractions;
  {
    Sequential copy = model;
    const std::size_t round_batches = std::max<std::size_t>(1, train_batches / 5);
    for (int round = 0; round < 5; ++round) {
      const double cube = gemm_gflops(1024, 1024, 1024, 1);
      const double rate =
          time_training(copy, data.train, batch, round_batches, lr, momentum, 2).samples_per_second;
      pair_fractions.push_back(rate * flop_per_sample / (cube * 1e9));
    }
  }
  std::sort(pair_fractions.begin(), pair_fractions.end());
  const double fraction = pair_fractions[pair_fractions.size() / 2];
  const double continuous_fraction =
      training.samples_per_second * flop_per_sample / (cube_gflops * 1e9);
  std::printf(
      "\ntraining, batch %zu: %.0f samples/s (%zu batches), %.3f MFLOP/sample, %.2f of the "
      "1024^3 gemm rate (median of 5 paired rounds; %.2f-%.2f; the %zu batches against the "
      "best cube above: %.2f)\n",
      std::size_t{batch}, training.samples_per_second, std::size_t{train_batches},
      flop_per_sample * 1e-6, fraction, pair_fractions.front(), pair_fractions.back(),
      std::size_t{train_batches}, continuous_fraction);
  std::printf("model %zu parameters; RSS at the end of training %.1f MB (peak so far %.1f MB)\n",
              model.parameter_count(), train_rss, train_peak_rss);
  JsonValue hidden_list = JsonValue::array();
  for (const std::size_t h : hidden) hidden_list.push(h);
  report.set("hidden", std::move(hidden_list));
  report.set("batch", batch);
  report.set("parameters", model.parameter_count());
  report.set("train_samples_per_second", training.samples_per_second);
  report.set("train_flop_per_sample", flop_per_sample);
  report.set("train_fraction_of_peak", fraction);
  JsonValue pairs = JsonValue::array();
  for (const double f : pair_fractions) pairs.push(f);
  report.set("train_fraction_of_peak_pairs", std::move(pairs));
  report.set("train_fraction_of_peak_continuous", continuous_fraction);
  report.set("train_rss_mb", train_rss);
  report.set("train_peak_rss_mb", train_peak_rss);

  // Inference on the model just trained: float, then 8-bit per-channel
  // weights with each kernel asked for, then (with weight_only) the
  // sub-8-bit weight-only formats, each through its own kernel.
  std::vector<std::pair<std::string, Sequential>> quantized;
  for (const QuantizedKernel kernel : kernels) {
    QuantConfig config;
    config.kernel = kernel;
    quantized.emplace_back(
        kernel == QuantizedKernel::weight_only ? "int8_weight_only" : "int8_dynamic",
        quantize_model(model, config));
  }
  if (std::find(kernels.begin(), kernels.end(), QuantizedKernel::weight_only) != kernels.end())
    for (const int bits : {4, 3, 2}) {
      QuantConfig config;
      config.format = {Scheme::asymmetric, Granularity::group, bits, low_bit_group};
      quantized.emplace_back("int" + std::to_string(bits) + "_weight_only",
                             quantize_model(model, config));
    }
  // The same 4- and 2-bit formats with 7-bit dynamic activations: the codes
  // stay packed and run in lowbit_int_gemm (ggml's way with Q4 weights).
  if (std::find(kernels.begin(), kernels.end(), QuantizedKernel::dynamic_int8) != kernels.end())
    for (const int bits : {4, 2}) {
      QuantConfig config;
      config.kernel = QuantizedKernel::dynamic_int8;
      config.format = {Scheme::asymmetric, Granularity::group, bits, low_bit_group};
      quantized.emplace_back("int" + std::to_string(bits) + "_dynamic",
                             quantize_model(model, config));
    }
  struct Variant {
    std::string name;
    Sequential* model;
  };
  std::vector<Variant> variants = {{"float", &model}};
  for (auto& [name, q] : quantized) variants.push_back({name, &q});
  Tensor test_images;
  data.test.copy_images(0, test_rows, test_images);
  const std::span<const std::uint8_t> test_labels(data.test.labels.data(), test_rows);
  report.set("test_samples", test_rows);
  JsonValue inference = JsonValue::object();
  const double forward_flop = dense_flop_per_sample(widths, 1.0, 1.0);
  std::printf("\n%-18s %10s %16s %12s\n", "inference", "batch-1 us", "full samples/s", "accuracy");
  for (Variant& v : variants) {
    const InferenceTiming t = time_inference(*v.model, test_images);
    const double acc = evaluate(*v.model, test_images, test_labels, test_rows).accuracy();
    std::printf("%-18s %10.1f %16.0f %11.2f%%\n", v.name.c_str(), t.batch1_us_per_sample,
                t.full_batch_samples_per_second, 100.0 * acc);
    JsonValue entry =
        JsonValue::object({{"batch1_us_per_sample", t.batch1_us_per_sample},
                           {"full_batch_samples_per_second", t.full_batch_samples_per_second},
                           {"accuracy", acc}});
    // Float and weight-only run float multiply-adds (the weights widened in
    // registers): their share of the FMA peak says how much faster any
    // kernel doing those multiply-adds could be. Integer kernels do others.
    if (v.name == "float" || v.name.ends_with("_weight_only"))
      entry.set("full_batch_fraction_of_fma_peak",
                t.full_batch_samples_per_second * forward_flop / (fma_peak * 1e9));
    inference.set(v.name, std::move(entry));
  }
  if (static_int8) {
    Tensor calibration;
    data.train.copy_images(0, std::min<std::size_t>(1024, data.train.size()), calibration);
    const std::vector<std::uint8_t> pixels(data.test.pixels.begin(),
                                           data.test.pixels.begin() + test_rows * features);
    // 8-bit weights (int8_gemm_pairs on AVX2), and 7-bit ones, whose u8 × s8
    // pair sums fit int16, so int8_gemm_narrow runs vpmaddubsw on them.
    for (const int bits : {8, 7}) {
      const StaticInt8Network network(
          quantize_static_int8(model, calibration, {.observer = observer, .bits = bits}));
      const InferenceTiming t = time_static_int8(network, pixels);
      const auto classes = network.predict(active_isa(KernelFamily::int8_gemm), pixels);
      std::size_t correct = 0;
      for (std::size_t i = 0; i < classes.size(); ++i) correct += classes[i] == test_labels[i];
      const double acc = double(correct) / double(classes.size());
      const std::string name = bits == 8 ? "int8_static" : "int8_static_w" + std::to_string(bits);
      std::printf("%-18s %10.1f %16.0f %11.2f%%\n", name.c_str(), t.batch1_us_per_sample,
                  t.full_batch_samples_per_second, 100.0 * acc);
      inference.set(name, JsonValue::object(
                              {{"batch1_us_per_sample", t.batch1_us_per_sample},
                               {"full_batch_samples_per_second", t.full_batch_samples_per_second},
                               {"accuracy", acc},
                               {"activations", to_string(observer)},
                               {"weight_bits", bits}}));
    }
  }
  report.set("inference", std::move(inference));
  if (qat_rounds > 0)
    time_qat(model, data.train, batch, train_batches, lr, momentum, qat_rounds, report);
  if (report_path) write_text_file_atomically(*report_path, to_json(report));
  return 0;
}

}  // namespace

}  // namespace tinyq

int main(int argc, char** argv) {
  return tinyq::run_program("bench_mnist", tinyq::bench_mnist, argc, argv);
}
