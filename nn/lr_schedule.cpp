// Learning-rate schedules: parsing and evaluation.
#include "nn/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace tinyq {

ScheduleKind parse_schedule_kind(std::string_view name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "cosine") return ScheduleKind::cosine;
  throw Error("unknown learning-rate schedule \"" + std::string(name) +
              "\", expected one of: constant, step, cosine");
}

std::string schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant:
      return "constant";
    case ScheduleKind::step:
      return "step";
    case ScheduleKind::cosine:
      return "cosine";
  }
  return "unknown";
}

LearningRateSchedule::LearningRateSchedule(ScheduleKind kind, float base_rate, std::size_t period,
                                           float gamma)
    : kind_(kind), base_rate_(base_rate), period_(period), gamma_(gamma) {
  if (!(base_rate >= 0.0f) || !std::isfinite(base_rate))
    throw Error("learning rate must be a finite number >= 0, found " + std::to_string(base_rate));
}

LearningRateSchedule LearningRateSchedule::constant(float base_rate) {
  return {ScheduleKind::constant, base_rate, 1, 1.0f};
}

LearningRateSchedule LearningRateSchedule::step(float base_rate, std::size_t step_size,
                                                float gamma) {
  if (step_size == 0) throw Error("step schedule: step size must be at least 1, found 0");
  if (!(gamma > 0.0f && gamma <= 1.0f))
    throw Error("step schedule: gamma must be in (0, 1], found " + std::to_string(gamma));
  return {ScheduleKind::step, base_rate, step_size, gamma};
}

LearningRateSchedule LearningRateSchedule::cosine(float base_rate, std::size_t total_steps) {
  if (total_steps == 0) throw Error("cosine schedule: total steps must be at least 1, found 0");
  return {ScheduleKind::cosine, base_rate, total_steps, 1.0f};
}

float LearningRateSchedule::rate(std::size_t t) const {
  switch (kind_) {
    case ScheduleKind::constant:
      return base_rate_;
    case ScheduleKind::step:
      return base_rate_ *
             static_cast<float>(std::pow(double{gamma_}, static_cast<double>(t / period_)));
    case ScheduleKind::cosine: {
      const double progress =
          static_cast<double>(std::min(t, period_)) / static_cast<double>(period_);
      return static_cast<float>(base_rate_ * 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
    }
  }
  return base_rate_;
}

}  // namespace tinyq
