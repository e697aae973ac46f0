// Loading MNIST (and same-format sets such as Fashion-MNIST) from the four
// IDX files of the original distribution, raw or gzip-compressed:
//
//   train-images-idx3-ubyte  train-labels-idx1-ubyte   (60000 in MNIST)
//   t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte    (10000)
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tinyq {

// The images stay the bytes the file holds ([n, rows * cols], 0..255): a
// quarter of the memory of floats (Fashion-MNIST's 60,000 training images
// are 47 MB as bytes, 188 MB as floats). They become floats, pixel / 255 so
// every value is in [0, 1], only when a batch is gathered.
struct Dataset {
  std::vector<std::uint8_t> pixels;  // [n, rows * cols], row-major
  std::vector<std::uint8_t> labels;  // n labels, each 0..9
  std::size_t rows = 0, cols = 0;
  std::size_t size() const { return labels.size(); }
  std::size_t features() const { return rows * cols; }
  // Sample i's pixels (i < size()).
  std::span<const std::uint8_t> image(std::size_t i) const {
    return std::span<const std::uint8_t>(pixels).subspan(i * features(), features());
  }
  // Samples [begin, begin + count) as floats into out, resized to
  // [count, features()]. Throws tinyq::Error if the range is outside the set.
  void copy_images(std::size_t begin, std::size_t count, Tensor& out) const;
  // All images as floats [size(), features()] (a test set, a unit test).
  Tensor float_images() const;
};

// The float a pixel stands for: the float nearest p / 255 (division is
// correctly rounded), so 0 is exactly 0 and 255 exactly 1.
inline float pixel_value(std::uint8_t p) {
  return static_cast<float>(p) / 255.0f;
}
// pixel_value of every pixel of `pixels` into `out` (same length). The
// compiler turns the loop into vector divisions, several pixels each; that
// measured faster than a 256-entry table, whose lookups go one at a time
// (a batch of 64 shuffled Fashion-MNIST rows: 28 against 48 us).
void pixels_to_floats(std::span<const std::uint8_t> pixels, std::span<float> out);

// Loads <folder>/<split>-images-idx3-ubyte and <split>-labels-idx1-ubyte,
// each raw or with ".gz" appended (the raw file if both exist). split is
// "train" or "t10k". Throws tinyq::Error naming the file on any problem:
// missing (both names tried are listed), malformed IDX, images not ubyte of
// rank 3, labels not ubyte of rank 1, counts that differ, no samples, or a
// label outside 0..9 (with its index and value).
Dataset load_mnist_split(const std::filesystem::path& folder, const std::string& split);

struct Mnist {
  Dataset train, test;
};

// Both splits; throws if their image sizes differ.
Mnist load_mnist(const std::filesystem::path& folder);

// Where to look when the user names no folder, in order: $TINYQ_DATA if set,
// then $XDG_DATA_HOME/tinyq/mnist (XDG_DATA_HOME defaults to
// ~/.local/share), then /usr/share/datasets/mnist.
std::vector<std::filesystem::path> default_data_folders();

// True if the folder holds all four files, each raw or .gz.
bool holds_mnist_files(const std::filesystem::path& folder);

// The first of default_data_folders() that holds the four files.
std::optional<std::filesystem::path> find_data_folder();

}  // namespace tinyq
