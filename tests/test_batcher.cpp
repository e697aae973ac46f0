#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "data/batcher.hpp"

namespace {

// n <= 128 samples of 3 pixels; sample i holds 2i, 2i + 1, 2i + 2, label i % 10.
tinyq::Dataset make_dataset(std::size_t n) {
  tinyq::Dataset d;
  d.rows = 1;
  d.cols = 3;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < 3; ++j) d.pixels.push_back(static_cast<std::uint8_t>(2 * i + j));
    d.labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  return d;
}

// One epoch's sample indices, recovered from the copied features.
std::vector<std::size_t> epoch_samples(tinyq::Batcher& batcher,
                                       std::vector<std::size_t>* sizes = nullptr) {
  batcher.start_epoch();
  tinyq::Tensor images;
  std::vector<std::uint8_t> labels;
  std::vector<std::size_t> samples;
  while (batcher.next(images, labels)) {
    if (sizes) sizes->push_back(labels.size());
    REQUIRE(images.dim(0) == labels.size());
    for (std::size_t r = 0; r < labels.size(); ++r) {
      const auto i = static_cast<std::size_t>(images(r, 0) * 255.0f + 0.5f) / 2;
      CHECK(images(r, 2) == tinyq::pixel_value(static_cast<std::uint8_t>(2 * i + 2)));
      CHECK(labels[r] == i % 10);
      samples.push_back(i);
    }
  }
  return samples;
}

}  // namespace

TEST_CASE("Batcher visits every sample exactly once per epoch") {
  const tinyq::Dataset d = make_dataset(23);
  tinyq::Batcher batcher(d, 5, 42);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::size_t> samples = epoch_samples(batcher);
    std::sort(samples.begin(), samples.end());
    std::vector<std::size_t> all(23);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    CHECK(samples == all);
  }
}

TEST_CASE("Batcher gives the same order for the same seed") {
  const tinyq::Dataset d = make_dataset(50);
  tinyq::Batcher a(d, 8, 7), b(d, 8, 7);
  for (int epoch = 0; epoch < 2; ++epoch) CHECK(epoch_samples(a) == epoch_samples(b));
}

TEST_CASE("Batcher reshuffles every epoch and differs across seeds") {
  const tinyq::Dataset d = make_dataset(50);
  tinyq::Batcher a(d, 8, 7), b(d, 8, 8);
  const auto first = epoch_samples(a);
  CHECK(epoch_samples(a) != first);
  CHECK(epoch_samples(b) != first);
  std::vector<std::size_t> identity(50);
  for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = i;
  CHECK(first != identity);
}

TEST_CASE("Batcher includes the last partial batch by default") {
  const tinyq::Dataset d = make_dataset(23);
  tinyq::Batcher batcher(d, 5, 1);
  CHECK(batcher.batches_per_epoch() == 5);
  std::vector<std::size_t> sizes;
  epoch_samples(batcher, &sizes);
  CHECK(sizes == std::vector<std::size_t>{5, 5, 5, 5, 3});
}

TEST_CASE("Batcher with drop_last skips the last partial batch") {
  const tinyq::Dataset d = make_dataset(23);
  tinyq::Batcher batcher(d, 5, 1, true);
  CHECK(batcher.batches_per_epoch() == 4);
  std::vector<std::size_t> sizes;
  CHECK(epoch_samples(batcher, &sizes).size() == 20);
  CHECK(sizes == std::vector<std::size_t>{5, 5, 5, 5});
}

TEST_CASE("Batcher counts whole batches when the batch size divides the set") {
  const tinyq::Dataset d = make_dataset(20);
  for (const bool drop_last : {false, true}) {
    tinyq::Batcher batcher(d, 5, 1, drop_last);
    CHECK(batcher.batches_per_epoch() == 4);
    std::vector<std::size_t> sizes;
    epoch_samples(batcher, &sizes);
    CHECK(sizes == std::vector<std::size_t>{5, 5, 5, 5});
  }
}

TEST_CASE("Batcher reuses the caller's storage across batches") {
  const tinyq::Dataset d = make_dataset(20);
  tinyq::Batcher batcher(d, 4, 3);
  tinyq::Tensor images;
  std::vector<std::uint8_t> labels;
  REQUIRE(batcher.next(images, labels));
  const float* storage = images.data();
  const std::uint8_t* label_storage = labels.data();
  while (batcher.next(images, labels)) {
    CHECK(images.data() == storage);
    CHECK(labels.data() == label_storage);
  }
}

TEST_CASE("Batcher refuses a zero batch size") {
  const tinyq::Dataset d = make_dataset(3);
  CHECK_THROWS_AS(tinyq::Batcher(d, 0, 1), tinyq::Error);
}

TEST_CASE("Batcher refuses a dataset whose pixels do not match its labels") {
  tinyq::Dataset d = make_dataset(3);
  d.pixels.pop_back();
  CHECK_THROWS_AS(tinyq::Batcher(d, 1, 1), tinyq::Error);
}

TEST_CASE("Batcher gathers pixels as the float nearest pixel / 255") {
  tinyq::Dataset d;
  d.rows = 1;
  d.cols = 256;
  for (int p = 0; p < 256; ++p) d.pixels.push_back(static_cast<std::uint8_t>(p));
  d.labels = {0};
  tinyq::Batcher batcher(d, 1, 1);
  tinyq::Tensor images;
  std::vector<std::uint8_t> labels;
  REQUIRE(batcher.next(images, labels));
  for (int p = 0; p < 256; ++p) CHECK(images(0, std::size_t(p)) == float(p) / 255.0f);
  CHECK(images(0, 255) == 1.0f);
}
