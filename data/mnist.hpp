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
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tinyq {

struct Dataset {
  Tensor images;                     // [n, rows * cols], pixel / 255, so every value is in [0, 1]
  std::vector<std::uint8_t> labels;  // n labels, each 0..9
  std::size_t rows = 0, cols = 0;
  std::size_t size() const { return labels.size(); }
};

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
