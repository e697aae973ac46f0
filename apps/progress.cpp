#include "apps/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace tinyq {

bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

ProgressBar::ProgressBar(std::size_t total, std::string unit)
    : total_(total),
      unit_(std::move(unit)),
      enabled_(stdout_is_terminal() && total > 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(std::size_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  drawn_ = true;

  constexpr int width = 28;
  const double fraction = total_ ? double(done) / double(total_) : 1.0;
  const int filled = static_cast<int>(fraction * width);
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';

  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? double(done) / seconds : 0.0;
  const double left = rate > 0 ? double(total_ - done) / rate : 0.0;
  const int left_s = static_cast<int>(left + 0.5);
  std::printf("\r[%s] %zu/%zu  %.0f %s/s  %d:%02d left\x1b[K", bar, done, total_, rate,
              unit_.c_str(), left_s / 60, left_s % 60);
  std::fflush(stdout);
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  std::printf("\r\x1b[K");
  std::fflush(stdout);
  drawn_ = false;
}

}  // namespace tinyq
