// A live progress bar for a terminal, and nothing at all when stdout is not
// one (a log file or a pipe gets only the per-epoch lines).
//
//   [#########.................]  1408/8000  12345 samples/s  0:03 left
//
// It redraws at most ten times a second so drawing never costs more than
// the work it reports on.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace tinyq {

bool stdout_is_terminal();

class ProgressBar {
 public:
  // total: units of work (samples); unit: what to call them in the rate.
  ProgressBar(std::size_t total, std::string unit);
  ~ProgressBar();  // erases the bar

  void update(std::size_t done);
  void finish();  // erases the bar; called by the destructor too

 private:
  std::size_t total_;
  std::string unit_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tinyq
