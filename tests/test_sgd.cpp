// SGD update rule (momentum, weight decay) and learning-rate schedules.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/sgd.hpp"

using namespace tinyq;

namespace {

// One parameter tensor with a gradient, as a layer would expose it.
struct OneParameter {
  Tensor value, grad;
  OneParameter(std::vector<float> w, std::vector<float> g)
      : value({w.size()}, w), grad({g.size()}, g) {}
  std::vector<Parameter> list() { return {{"weight", &value, &grad}}; }
};

}  // namespace

TEST_CASE("plain SGD subtracts learning rate times gradient") {
  OneParameter p({1.0f, -2.0f}, {0.5f, -1.0f});
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.0f, .weight_decay = 0.0f});
  sgd.step(p.list());
  CHECK(p.value[0] == doctest::Approx(0.95));
  CHECK(p.value[1] == doctest::Approx(-1.9));
}

TEST_CASE("weight decay without momentum adds lambda times the weight to the gradient") {
  OneParameter p({1.0f, -2.0f}, {0.5f, -1.0f});
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.0f, .weight_decay = 0.1f});
  sgd.step(p.list());
  CHECK(p.value[0] == doctest::Approx(1.0 - 0.1 * (0.5 + 0.1 * 1.0)).epsilon(1e-6));
  CHECK(p.value[1] == doctest::Approx(-2.0 - 0.1 * (-1.0 + 0.1 * -2.0)).epsilon(1e-6));
}

TEST_CASE("momentum and weight decay follow PyTorch's rule over two steps") {
  OneParameter p({1.0f}, {0.5f});
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  // Step 1: g = 0.5 + 0.01·1 = 0.51, v = g = 0.51, w = 1 - 0.1·0.51 = 0.949
  sgd.step(p.list());
  CHECK(p.value[0] == doctest::Approx(0.949).epsilon(1e-6));
  // Step 2: g = 0.5 + 0.01·0.949 = 0.50949, v = 0.9·0.51 + 0.50949 = 0.96849,
  //         w = 0.949 - 0.096849 = 0.852151
  sgd.step(p.list());
  CHECK(p.value[0] == doctest::Approx(0.852151).epsilon(1e-6));
}

TEST_CASE("the learning rate passed to step overrides the base rate") {
  OneParameter p({1.0f}, {1.0f});
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.5f, .weight_decay = 0.0f});
  sgd.step(p.list(), 0.25f);
  CHECK(p.value[0] == doctest::Approx(0.75));
  sgd.step(p.list(), 0.0f);  // the velocity still updates: v = 0.5·1 + 1
  sgd.step(p.list(), 0.1f);  // v = 0.5·1.5 + 1 = 1.75
  CHECK(p.value[0] == doctest::Approx(0.75 - 0.175));
}

TEST_CASE("SGD rejects bad options and a changed parameter list") {
  CHECK_THROWS_AS(Sgd({.learning_rate = -1.0f, .momentum = 0, .weight_decay = 0}), Error);
  CHECK_THROWS_AS(Sgd({.learning_rate = 0.1f, .momentum = 1.0f, .weight_decay = 0}), Error);
  CHECK_THROWS_AS(Sgd({.learning_rate = 0.1f, .momentum = 0, .weight_decay = -0.5f}), Error);
  CHECK_THROWS_AS(Sgd({.learning_rate = NAN, .momentum = 0, .weight_decay = 0}), Error);

  OneParameter a({1.0f}, {1.0f}), b({1.0f, 2.0f}, {1.0f, 1.0f});
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 0.0f});
  sgd.step(a.list());
  CHECK_THROWS_AS(sgd.step(b.list()), Error);  // same count, other shape
  std::vector<Parameter> two = a.list();
  two.push_back(b.list()[0]);
  CHECK_THROWS_AS(sgd.step(two), Error);
}

TEST_CASE("constant schedule never changes") {
  const auto schedule = LearningRateSchedule::constant(0.05f);
  CHECK(schedule.rate(0) == 0.05f);
  CHECK(schedule.rate(123456) == 0.05f);
}

TEST_CASE("step schedule multiplies by gamma every step_size steps") {
  const auto schedule = LearningRateSchedule::step(0.1f, 3, 0.5f);
  CHECK(schedule.rate(0) == doctest::Approx(0.1));
  CHECK(schedule.rate(2) == doctest::Approx(0.1));
  CHECK(schedule.rate(3) == doctest::Approx(0.05));
  CHECK(schedule.rate(5) == doctest::Approx(0.05));
  CHECK(schedule.rate(6) == doctest::Approx(0.025));
  CHECK(schedule.rate(30) == doctest::Approx(0.1 / 1024));
}

TEST_CASE("cosine schedule falls from the base rate to zero over T steps") {
  const auto schedule = LearningRateSchedule::cosine(0.2f, 100);
  CHECK(schedule.rate(0) == doctest::Approx(0.2));
  CHECK(schedule.rate(50) == doctest::Approx(0.1));
  CHECK(schedule.rate(25) == doctest::Approx(0.1 * (1 + std::cos(std::numbers::pi / 4))));
  CHECK(schedule.rate(100) == doctest::Approx(0.0));
  CHECK(schedule.rate(150) == doctest::Approx(0.0));  // clamped past the end
}

TEST_CASE("schedules are parsed by name and bad names list the valid ones") {
  CHECK(parse_schedule_kind("constant") == ScheduleKind::constant);
  CHECK(parse_schedule_kind("step") == ScheduleKind::step);
  CHECK(parse_schedule_kind("cosine") == ScheduleKind::cosine);
  CHECK(schedule_name(ScheduleKind::cosine) == "cosine");
  CHECK_THROWS_WITH_AS(parse_schedule_kind("linear"),
                       doctest::Contains("\"linear\", expected one of: constant, step, cosine"),
                       Error);
}

TEST_CASE("schedules reject impossible parameters") {
  CHECK_THROWS_AS(LearningRateSchedule::step(0.1f, 0, 0.5f), Error);
  CHECK_THROWS_AS(LearningRateSchedule::step(0.1f, 2, 0.0f), Error);
  CHECK_THROWS_AS(LearningRateSchedule::cosine(0.1f, 0), Error);
  CHECK_THROWS_AS(LearningRateSchedule::constant(-0.1f), Error);
}

TEST_CASE("a velocity decaying below the normal range is flushed to zero on x86") {
  // w = 0, one gradient of 2^-120, then zero gradients: v halves each step
  // (μ = ½, η = 1) and w accumulates -v. v = 2^-120 … 2^-126 are normal
  // floats; the next, 2^-127, is subnormal (see core/flush_denormals.hpp).
  OneParameter p({0.0f}, {std::ldexp(1.0f, -120)});
  Sgd sgd({.learning_rate = 1.0f, .momentum = 0.5f, .weight_decay = 0.0f});
  sgd.step(p.list());
  p.grad[0] = 0.0f;
  for (int step = 0; step < 20; ++step) sgd.step(p.list());
#if defined(__x86_64__) || defined(__i386__)
  // 2^-127 became 0, and so did every later velocity.
  CHECK(p.value[0] == -(std::ldexp(1.0f, -119) - std::ldexp(1.0f, -126)));
#else
  CHECK(p.value[0] == -(std::ldexp(1.0f, -119) - std::ldexp(1.0f, -140)));
#endif
}

TEST_CASE("a large tensor, updated in parallel chunks, follows the same rule element by element") {
  const std::size_t n = 100003;  // above the parallel threshold, not a multiple of the grain
  std::vector<float> w(n), g(n);
  for (std::size_t i = 0; i < n; ++i) {
    w[i] = static_cast<float>(i % 97) / 97.0f - 0.5f;
    g[i] = static_cast<float>(i % 31) / 31.0f - 0.5f;
  }
  OneParameter p(w, g);
  Sgd sgd({.learning_rate = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f});
  sgd.step(p.list());
  sgd.step(p.list());
  for (std::size_t i = 0; i < n; ++i) {
    // The two steps of the rule. A tolerance, not ==, because the compiler may
    // fuse multiply-adds differently in the library's loop and this one.
    float v = g[i] + 0.01f * w[i];
    float x = w[i] - 0.05f * v;
    v = 0.9f * v + (g[i] + 0.01f * x);
    x -= 0.05f * v;
    if (std::abs(p.value[i] - x) > 1e-6f) {
      FAIL_CHECK("element " << i << ": expected " << x << ", found " << p.value[i]);
      break;
    }
  }
}

TEST_CASE(
    "parameters split across threads as one range each follow the rule, at any thread count") {
  // Sizes whose total is above the parallel threshold, so chunk boundaries
  // fall inside tensors and between them.
  const std::vector<std::size_t> sizes = {5, 40000, 3, 30001};
  std::vector<std::vector<float>> finals;
  for (const std::size_t threads : {1, 2, 3}) {
    const std::size_t before = num_threads();
    set_num_threads(threads);
    std::vector<Tensor> values, grads;
    for (const std::size_t n : sizes) {
      Tensor w({n}), g({n});
      for (std::size_t i = 0; i < n; ++i) {
        w[i] = static_cast<float>((i + n) % 89) / 89.0f - 0.5f;
        g[i] = static_cast<float>((i * 7 + n) % 41) / 41.0f - 0.5f;
      }
      values.push_back(std::move(w));
      grads.push_back(std::move(g));
    }
    std::vector<Parameter> params;
    for (std::size_t t = 0; t < sizes.size(); ++t) params.push_back({"p", &values[t], &grads[t]});
    const std::vector<Tensor> start = values;
    Sgd sgd({.learning_rate = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f});
    sgd.step(params);
    sgd.step(params);
    set_num_threads(before);
    std::vector<float> all;
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      for (std::size_t i = 0; i < sizes[t]; ++i) {
        const float w0 = start[t][i], g = grads[t][i];
        float v = g + 0.01f * w0;
        float x = w0 - 0.05f * v;
        v = 0.9f * v + (g + 0.01f * x);
        x -= 0.05f * v;
        if (std::abs(values[t][i] - x) > 1e-6f) {
          FAIL_CHECK("tensor " << t << " element " << i << ": expected " << x << ", found "
                               << values[t][i]);
          break;
        }
      }
      all.insert(all.end(), values[t].values().begin(), values[t].values().end());
    }
    finals.push_back(all);
  }
  CHECK(finals[0] == finals[1]);
  CHECK(finals[0] == finals[2]);
}
