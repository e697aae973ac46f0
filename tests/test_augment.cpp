#include <doctest/doctest.h>

#include <vector>

#include "core/error.hpp"
#include "data/augment.hpp"

using namespace tinyq;

namespace {

// in(r - dy, c - dx), or 0 outside: the definition, written independently.
std::vector<float> shifted(const std::vector<float>& in, int rows, int cols, int dy, int dx) {
  std::vector<float> out(in.size(), 0.0f);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int sr = r - dy, sc = c - dx;
      if (sr >= 0 && sr < rows && sc >= 0 && sc < cols) out[r * cols + c] = in[sr * cols + sc];
    }
  return out;
}

}  // namespace

TEST_CASE("random shift moves each image by some offset within the limit") {
  const int rows = 5, cols = 6, batch = 40;
  Tensor images({batch, rows * cols});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 97) + 1.0f;
  const Tensor original = images;
  RandomShift shift(1, 7);
  shift.apply(images, rows, cols);
  int moved = 0;
  for (int b = 0; b < batch; ++b) {
    const std::span<const float> before = original.row(b), after = images.row(b);
    const std::vector<float> in(before.begin(), before.end()), out(after.begin(), after.end());
    bool matched = false;
    for (int dy = -1; dy <= 1 && !matched; ++dy)
      for (int dx = -1; dx <= 1 && !matched; ++dx)
        if (shifted(in, rows, cols, dy, dx) == out) {
          matched = true;
          moved += (dy != 0 || dx != 0);
        }
    CHECK(matched);
  }
  CHECK(moved > batch / 2);  // 8 of 9 offsets move the image
}

TEST_CASE("random shift draws every offset within the limit, both signs") {
  const int rows = 5, cols = 5, batch = 300;
  Tensor images({batch, rows * cols});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 25) + 1.0f;
  const Tensor original = images;
  RandomShift(1, 3).apply(images, rows, cols);
  int seen[3][3] = {};
  for (int b = 0; b < batch; ++b) {
    const std::span<const float> before = original.row(b), after = images.row(b);
    const std::vector<float> in(before.begin(), before.end()), out(after.begin(), after.end());
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        seen[dy + 1][dx + 1] += shifted(in, rows, cols, dy, dx) == out;
  }
  // 300 draws of 9 equally likely offsets: each appears about 33 times.
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      CAPTURE(dy);
      CAPTURE(dx);
      CHECK(seen[dy + 1][dx + 1] > 10);
    }
}

TEST_CASE("random shift of zero leaves images unchanged") {
  Tensor images({2, 9});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i);
  const Tensor original = images;
  RandomShift(0, 1).apply(images, 3, 3);
  for (std::size_t i = 0; i < images.size(); ++i) CHECK(images[i] == original[i]);
}

TEST_CASE("random shift is the same for the same seed") {
  Tensor a({8, 16}), b;
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(i % 13);
  b = a;
  RandomShift(2, 99).apply(a, 4, 4);
  RandomShift(2, 99).apply(b, 4, 4);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
}

TEST_CASE("random shift refuses images whose width is not rows x cols") {
  Tensor images({2, 10});
  CHECK_THROWS_AS(RandomShift(1, 1).apply(images, 3, 3), Error);
}

TEST_CASE("random shift with probability 0 leaves images unchanged") {
  Tensor images({16, 16});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 7) + 1.0f;
  const Tensor original = images;
  RandomShift(2, 5, 0.0f).apply(images, 4, 4);
  for (std::size_t i = 0; i < images.size(); ++i) CHECK(images[i] == original[i]);
}

TEST_CASE("random shift with probability 0.5 shifts some images and keeps others") {
  const std::size_t batch = 200;
  Tensor images({batch, 25});
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 25) + 1.0f;
  const Tensor original = images;
  RandomShift(1, 11, 0.5f).apply(images, 5, 5);
  std::size_t unchanged = 0;
  for (std::size_t b = 0; b < batch; ++b) {
    bool same = true;
    for (std::size_t j = 0; j < 25; ++j) same = same && images(b, j) == original(b, j);
    unchanged += same;
  }
  // Kept: half the images, plus the ninth of the shifted ones that drew (0, 0).
  CHECK(unchanged > batch * 40 / 100);
  CHECK(unchanged < batch * 75 / 100);
}
