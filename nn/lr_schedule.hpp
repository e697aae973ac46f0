// Learning-rate schedules: the rate to use at step t.
//
// "Step" t is whatever unit the caller counts in; train_mnist counts batch
// steps for cosine and may count epochs for the step schedule (step_size is
// then in epochs).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tinyq {

enum class ScheduleKind { constant, step, cosine };

// "constant", "step" or "cosine"; anything else throws tinyq::Error listing them.
ScheduleKind parse_schedule_kind(std::string_view name);
std::string schedule_name(ScheduleKind kind);

class LearningRateSchedule {
 public:
  // lr_t = lr_0
  static LearningRateSchedule constant(float base_rate);
  // lr_t = lr_0 · γ^⌊t / step_size⌋
  static LearningRateSchedule step(float base_rate, std::size_t step_size, float gamma);
  // lr_t = lr_0 · ½(1 + cos(π t / T)), t clamped to T: from lr_0 down to 0.
  static LearningRateSchedule cosine(float base_rate, std::size_t total_steps);

  float rate(std::size_t t) const;
  ScheduleKind kind() const { return kind_; }
  float base_rate() const { return base_rate_; }

 private:
  LearningRateSchedule(ScheduleKind kind, float base_rate, std::size_t period, float gamma);
  ScheduleKind kind_;
  float base_rate_;
  std::size_t period_;  // step_size for step, T for cosine
  float gamma_;
};

}  // namespace tinyq
