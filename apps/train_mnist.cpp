// train_mnist: train a multilayer perceptron on MNIST-format IDX files.
//
// The whole job in one readable pass: find the data, build the MLP, then for
// each epoch shuffle, run minibatch SGD (forward, loss, backward, update),
// measure held-out accuracy, and finally save the model atomically. The
// math lives in the library (nn/dense.cpp, nn/softmax_cross_entropy.cpp,
// nn/sgd.cpp); this file only wires it together and reports.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "apps/data_location.hpp"
#include "apps/model_evaluation.hpp"
#include "apps/options.hpp"
#include "apps/plots.hpp"
#include "apps/progress.hpp"
#include "apps/qat_options.hpp"
#include "apps/qat_plot.hpp"
#include "core/io/file_io.hpp"
#include "core/io/json_writer.hpp"
#include "core/thread_pool.hpp"
#include "data/augment.hpp"
#include "data/batcher.hpp"
#include "data/mnist.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "nn/sequential.hpp"
#include "nn/sgd.hpp"
#include "nn/softmax_cross_entropy.hpp"
#include "nn/train_step.hpp"
#include "quant/qat.hpp"
#include "quant/registry.hpp"

namespace tinyq {
namespace {

constexpr std::size_t classes = 10;

// The schedules by name: cosine decays to zero over the whole run (per
// batch), step divides the rate by 10 at one third and two thirds of it.
LearningRateSchedule make_schedule(const std::string& name, double lr, std::size_t total_steps) {
  const auto rate = static_cast<float>(lr);
  switch (parse_schedule_kind(name)) {
    case ScheduleKind::constant:
      return LearningRateSchedule::constant(rate);
    case ScheduleKind::step:
      return LearningRateSchedule::step(rate, std::max<std::size_t>(1, total_steps / 3), 0.1f);
    case ScheduleKind::cosine:
      return LearningRateSchedule::cosine(rate, total_steps);
  }
  throw Error("unknown schedule " + name);
}

// The model --init names: a float MLP whose shapes set the architecture.
// --hidden, when given too, must agree with it.
Sequential initial_model(const std::string& path, const std::vector<std::size_t>& hidden,
                         bool hidden_given, std::size_t features) {
  Sequential model = load_model(path, all_layers());
  if (is_quantized(model))
    throw Error(path + ": holds a quantized model, which cannot be trained (--init needs float)");
  std::vector<std::size_t> widths;
  for (std::size_t i = 0; i + 1 < model.size(); ++i)
    if (const auto out = model.layer(i).output_features()) widths.push_back(*out);
  if (hidden_given && widths != hidden)
    throw UsageError("--hidden does not match the hidden widths of --init " + path +
                     " (leave --hidden out to take them from the file)");
  if (model.input_features() != features || model.output_features() != classes)
    throw Error(path + ": model " + model.describe() + " does not map " + std::to_string(features) +
                " pixels to " + std::to_string(classes) + " classes");
  if (const auto bad = find_non_finite_parameter(model)) throw Error(path + ": " + *bad);
  return model;
}

struct EpochRecord {
  std::size_t epoch;
  double loss, train_accuracy, test_accuracy, seconds, samples_per_second;
};

int train_mnist(int argc, const char* const* argv) {
  Options options("train_mnist",
                  "Train an MLP on MNIST-format IDX files (raw or .gz) and save it.");
  options.add("data", "DIR", "folder holding train-/t10k- images and labels (see README)");
  options.add("epochs", "N", "passes over the training set", "20");
  options.add("hidden", "LIST",
              "hidden layer widths, comma-separated (with --init: taken from the file; if "
              "given, must agree)",
              "256,128");
  options.add("batch", "N", "minibatch size", "64");
  options.add("lr", "RATE", "peak learning rate", "0.05");
  options.add("momentum", "M", "SGD momentum", "0.9");
  options.add("weight-decay", "WD", "L2 weight decay added to the gradient", "0");
  options.add("schedule", "NAME", "learning-rate schedule: constant, step or cosine", "cosine");
  options.add("shift", "PIXELS", "augment: move training images by up to this many pixels", "1");
  options.add("shift-probability", "P", "augment: the share of training images shifted", "0.25");
  options.add("seed", "S", "seed for initialization and shuffling", "1");
  options.add("threads", "T", "worker threads",
              std::to_string(std::max(1u, std::thread::hardware_concurrency())));
  options.add("out", "FILE", "where to save the trained model", "mnist_mlp.tqm");
  options.add("init", "FILE.safetensors",
              "start from this float MLP (safetensors in PyTorch's nn.Sequential naming, or a "
              "tinyq model) instead of a random initialization");
  options.add("export", "FILE.safetensors",
              "also write the trained model as safetensors (PyTorch nn.Sequential names)");
  options.add("report", "FILE.json", "also write a JSON report of the run");
  options.add("plot", "FILE.svg", "also draw loss and accuracy per epoch as an SVG");
  add_qat_options(options);
  options.add("qat-plot", "FILE.svg",
              "with --qat-bits: draw each layer's weights on its grid before and after training");
  if (!options.parse(argc, argv)) return 0;
  const std::optional<QatConfig> qat = qat_config(options);
  const auto qat_plot_path = options.optional_text("qat-plot");
  if (qat_plot_path && !qat) throw UsageError("--qat-plot needs --qat-bits");

  const auto epochs = options.whole_number("epochs", 1, 10000);
  const auto hidden = options.number_list("hidden", 1, 65536);
  const auto batch = options.whole_number("batch", 1, 65536);
  const double lr = options.real_number("lr", 0.0, 100.0);
  const double momentum = options.real_number("momentum", 0.0, 0.999);
  const double weight_decay = options.real_number("weight-decay", 0.0, 1.0);
  const std::string schedule_name = options.choice("schedule", {"constant", "step", "cosine"});
  const auto max_shift = options.whole_number("shift", 0, 8);
  const double shift_probability = options.real_number("shift-probability", 0.0, 1.0);
  const auto seed = options.whole_number("seed", 0, UINT64_MAX);
  set_num_threads(options.whole_number("threads", 1, 256));
  const std::filesystem::path out_path = options.text("out");
  const auto report_path = options.optional_text("report");
  const auto plot_path = options.optional_text("plot");
  const auto init_path = options.optional_text("init");
  const auto export_path = options.optional_text("export");
  if (init_path) require_distinct_paths("init", *init_path, "out", out_path.string());
  if (init_path && export_path) require_distinct_paths("init", *init_path, "export", *export_path);

  const std::filesystem::path folder = locate_data(options.optional_text("data"));
  // No output may replace one of the data files it is trained on.
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    for (const char* suffix : {"", ".gz"}) {
      const std::string input = (folder / (std::string(name) + suffix)).string();
      if (!std::filesystem::exists(input)) continue;
      require_distinct_paths("data", input, "out", out_path.string());
      if (report_path) require_distinct_paths("data", input, "report", *report_path);
      if (plot_path) require_distinct_paths("data", input, "plot", *plot_path);
      if (qat_plot_path) require_distinct_paths("data", input, "qat-plot", *qat_plot_path);
      if (export_path) require_distinct_paths("data", input, "export", *export_path);
    }
  }
  std::cout << "data: " << folder.string() << "\n";
  const Mnist data = load_mnist(folder);
  const std::size_t features = data.train.features();
  std::cout << "train " << data.train.size() << " images, held-out " << data.test.size()
            << " images, " << data.train.rows << "x" << data.train.cols << " pixels\n";

  // Weights, gradients and momentum take 12 bytes per parameter: refuse a
  // size that cannot be trained here rather than run out of memory midway.
  constexpr std::uint64_t max_parameters = std::uint64_t{1} << 28;
  std::uint64_t parameters = 0;
  std::uint64_t width = features;
  for (std::size_t next : hidden) {
    parameters += (width + 1) * next;
    width = next;
  }
  parameters += (width + 1) * classes;
  if (!init_path && parameters > max_parameters)
    throw UsageError("option --hidden: the MLP would have " + std::to_string(parameters) +
                     " parameters, more than the limit of " + std::to_string(max_parameters));

  Sequential model = init_path
                         ? initial_model(*init_path, hidden, options.given("hidden"), features)
                         : make_mlp(features, hidden, classes, seed);
  // QAT: every Dense trains through the quantizer and is saved quantized.
  if (qat) model = make_qat_model(model, *qat);
  const std::optional<Sequential> qat_start =
      qat_plot_path ? std::optional<Sequential>(model) : std::nullopt;
  std::cout << "model: " << model.describe() << ", " << model.parameter_count() << " parameters\n";

  Batcher batcher(data.train, batch, seed);
  const std::size_t total_steps = epochs * batcher.batches_per_epoch();
  const LearningRateSchedule schedule = make_schedule(schedule_name, lr, total_steps);
  Sgd sgd({static_cast<float>(lr), static_cast<float>(momentum), static_cast<float>(weight_decay)});
  SoftmaxCrossEntropy loss;

  RandomShift shift(max_shift, seed + 1, static_cast<float>(shift_probability));
  Tensor images;
  std::vector<std::uint8_t> labels;
  std::vector<EpochRecord> history;
  std::size_t step = 0;
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    ProgressBar bar(data.train.size(), "samples");
    double loss_sum = 0.0;
    std::size_t correct = 0, seen = 0;
    batcher.start_epoch();
    while (batcher.next(images, labels)) {
      shift.apply(images, data.train.rows, data.train.cols);
      std::size_t batch_correct = 0;
      const float batch_loss =
          train_step(model, loss, sgd, images, labels, schedule.rate(step++), &batch_correct);
      if (!std::isfinite(batch_loss))
        throw Error(std::string("training diverged: the loss became ") +
                    (std::isnan(batch_loss) ? "NaN" : "infinite") + " in epoch " +
                    std::to_string(epoch) + "; try a smaller --lr (no model written)");
      loss_sum += double(batch_loss) * double(labels.size());
      correct += batch_correct;
      seen += labels.size();
      bar.update(seen);
    }
    bar.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The loss above is checked per batch; the weights once per epoch, which
    // costs ~0.01% of an epoch (a pass per batch would cost ~6%). The last
    // epoch's check guards the model that is saved.
    if (const auto bad = find_non_finite_parameter(model))
      throw Error("training diverged: " + *bad + " after epoch " + std::to_string(epoch) +
                  "; try a smaller --lr (no model written)");
    const Evaluation held_out = evaluate(
        model, data.test.labels, 1000, [&](std::size_t start, std::size_t rows, Tensor& batch) {
          data.test.copy_images(start, rows, batch);  // bytes to floats, a batch at a time
        });
    const EpochRecord record{
        epoch,   loss_sum / double(seen), double(correct) / double(seen), held_out.accuracy(),
        seconds, double(seen) / seconds};
    history.push_back(record);
    std::printf(
        "epoch %3zu/%zu  loss %.4f  train %6.2f%%  held-out %6.2f%%  %6.2f s  %8.0f samples/s\n",
        epoch, static_cast<std::size_t>(epochs), record.loss, 100 * record.train_accuracy,
        100 * record.test_accuracy, record.seconds, record.samples_per_second);
    std::fflush(stdout);
  }

  // What is saved: the model, or under QAT the quantized model its
  // fake-quantized layers stand for (the same outputs to float rounding).
  Sequential saved = qat ? export_qat_model(model) : model;
  std::optional<double> saved_accuracy;
  if (qat) {
    saved_accuracy = evaluate(saved, data.test.labels, 1000,
                              [&](std::size_t start, std::size_t rows, Tensor& batch) {
                                data.test.copy_images(start, rows, batch);
                              })
                         .accuracy();
    std::printf("quantized model: held-out %6.2f%%\n", 100 * *saved_accuracy);
  }
  const auto bytes = serialize_model(saved);
  write_file_atomically(out_path, bytes);
  std::cout << "saved " << out_path.string() << " (" << bytes.size() << " bytes)\n";
  if (export_path) {
    const std::size_t exported = save_safetensors(saved, *export_path);
    std::cout << "exported " << *export_path << " (" << exported << " bytes)\n";
  }

  if (plot_path) {
    std::vector<EpochPoint> points;
    for (const auto& r : history)
      points.push_back({double(r.epoch), r.loss, r.train_accuracy, r.test_accuracy});
    const std::string svg = plot_training(points);
    write_text_file_atomically(*plot_path, svg);
  }
  if (qat_plot_path)
    write_text_file_atomically(*qat_plot_path, plot_qat_weights(*qat_start, model));
  if (report_path) {
    JsonValue epochs_json = JsonValue::array();
    for (const auto& r : history) {
      epochs_json.push(JsonValue::object()
                           .set("epoch", r.epoch)
                           .set("loss", r.loss)
                           .set("train_accuracy", r.train_accuracy)
                           .set("test_accuracy", r.test_accuracy)
                           .set("seconds", r.seconds)
                           .set("samples_per_second", r.samples_per_second));
    }
    JsonValue report = JsonValue::object();
    report.set("data", folder.string())
        .set("model", model.describe())
        .set("parameters", model.parameter_count())
        .set("model_bytes", bytes.size())
        .set("test_accuracy", history.back().test_accuracy)
        .set("epochs", std::move(epochs_json));
    if (qat)
      report.set("qat", JsonValue::object()
                            .set("format", format_tag(qat->format))
                            .set("grid", qat->grid)
                            .set("learn_scale", qat->learn_scale)
                            .set("quantized_test_accuracy", *saved_accuracy));
    const std::string text = to_json(report);
    write_text_file_atomically(*report_path, text);
  }
  return 0;
}

}  // namespace
}  // namespace tinyq

int main(int argc, char** argv) {
  return tinyq::run_program("train_mnist", tinyq::train_mnist, argc, argv);
}
