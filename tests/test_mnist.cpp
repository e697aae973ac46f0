#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/file_io.hpp"
#include "data/gzip.hpp"
#include "data/idx.hpp"
#include "data/mnist.hpp"

using tinyq::IdxType;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A folder in the temp directory, unique to this run, removed at scope exit.
struct TempFolder {
  fs::path path;
  TempFolder()
      : path(fs::temp_directory_path() /
             ("tinyq_test_mnist_" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))) {
    fs::create_directories(path);
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A tiny synthetic split: n images of 2x3 pixels, pixel j of image i is
// 10 * i + j (with 255 in the last one), label i % 10.
Bytes images_idx(std::size_t n) {
  Bytes pixels(n * 6);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<std::uint8_t>(10 * (i / 6) + i % 6);
  if (!pixels.empty()) pixels.back() = 255;
  const std::vector<std::size_t> dims = {n, 2, 3};
  return tinyq::write_idx(IdxType::u8, dims, pixels);
}
Bytes labels_idx(std::size_t n) {
  Bytes labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  const std::vector<std::size_t> dims = {n};
  return tinyq::write_idx(IdxType::u8, dims, labels);
}

void write(const fs::path& path, const Bytes& bytes, bool gzip) {
  if (gzip) {
    tinyq::write_file_atomically(path.string() + ".gz", tinyq::gzip_stored(bytes));
  } else {
    tinyq::write_file_atomically(path, bytes);
  }
}

void write_split(const fs::path& folder, const std::string& split, const Bytes& images,
                 const Bytes& labels, bool gzip) {
  write(folder / (split + "-images-idx3-ubyte"), images, gzip);
  write(folder / (split + "-labels-idx1-ubyte"), labels, gzip);
}

void check_load_fails_with(const fs::path& folder, const std::string& fragment) {
  try {
    tinyq::load_mnist_split(folder, "train");
    FAIL("expected tinyq::Error containing: " << fragment);
  } catch (const tinyq::Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find(fragment) != std::string::npos, std::string(e.what()));
  }
}

}  // namespace

TEST_CASE("load_mnist_split keeps the pixels as bytes and gives them as floats in [0, 1]") {
  for (bool gzip : {false, true}) {
    CAPTURE(gzip);
    TempFolder folder;
    write_split(folder.path, "train", images_idx(5), labels_idx(5), gzip);
    const tinyq::Dataset d = tinyq::load_mnist_split(folder.path, "train");
    CHECK(d.size() == 5);
    CHECK(d.rows == 2);
    CHECK(d.cols == 3);
    CHECK(d.pixels.size() == 5 * 6);
    CHECK(d.labels == Bytes{0, 1, 2, 3, 4});
    const tinyq::Tensor images = d.float_images();
    CHECK(images.shape() == tinyq::Shape{5, 6});
    CHECK(images(3, 2) == doctest::Approx(32.0 / 255.0));
    CHECK(images(0, 0) == 0.0f);
    CHECK(images(4, 5) == 1.0f);
    tinyq::Tensor rows;
    d.copy_images(3, 2, rows);
    CHECK(rows.shape() == tinyq::Shape{2, 6});
    CHECK(rows(0, 2) == images(3, 2));
    CHECK_THROWS_AS(d.copy_images(4, 2, rows), tinyq::Error);
  }
}

// p / 255 in binary is p's eight bits repeated forever, never close to a
// midpoint between two floats, so rounding the double quotient to float
// gives the correctly rounded float quotient. Every byte value, at every
// position of a vector and of the scalar tail.
TEST_CASE("pixels_to_floats gives the float nearest p / 255 for every byte") {
  Bytes pixels(256 + 37);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 7);
  for (std::size_t offset : {0, 1, 15, 16, 33}) {
    CAPTURE(offset);
    const std::span<const std::uint8_t> in = std::span(pixels).subspan(offset, 256);
    std::vector<float> out(in.size());
    tinyq::pixels_to_floats(in, out);
    for (std::size_t i = 0; i < in.size(); ++i) {
      CAPTURE(int{in[i]});
      CHECK(out[i] == static_cast<float>(static_cast<double>(in[i]) / 255.0));
    }
  }
  std::vector<float> short_out(3);
  CHECK_THROWS_AS(tinyq::pixels_to_floats(std::span(pixels).first(4), short_out), tinyq::Error);
}

TEST_CASE("load_mnist reads both splits") {
  TempFolder folder;
  write_split(folder.path, "train", images_idx(5), labels_idx(5), true);
  write_split(folder.path, "t10k", images_idx(3), labels_idx(3), false);
  CHECK(tinyq::holds_mnist_files(folder.path));
  const tinyq::Mnist m = tinyq::load_mnist(folder.path);
  CHECK(m.train.size() == 5);
  CHECK(m.test.size() == 3);
}

TEST_CASE("load_mnist refuses splits with different image sizes") {
  TempFolder folder;
  write_split(folder.path, "train", images_idx(5), labels_idx(5), false);
  const std::vector<std::size_t> dims = {1, 3, 2};
  write_split(folder.path, "t10k", tinyq::write_idx(IdxType::u8, dims, Bytes(6)), labels_idx(1),
              false);
  CHECK_THROWS_AS(tinyq::load_mnist(folder.path), tinyq::Error);
}

TEST_CASE("load_mnist_split refuses image and label counts that differ") {
  TempFolder folder;
  write_split(folder.path, "train", images_idx(5), labels_idx(4), false);
  check_load_fails_with(folder.path, "holds 4 labels, but");
}

TEST_CASE("load_mnist_split refuses a label outside 0..9, naming index and value") {
  TempFolder folder;
  Bytes labels = labels_idx(5);
  labels.back() = 10;
  write_split(folder.path, "train", images_idx(5), labels, false);
  check_load_fails_with(folder.path, "train-labels-idx1-ubyte: label 4 is 10 (expected 0..9)");
}

TEST_CASE("load_mnist_split refuses images of the wrong rank or type") {
  TempFolder folder;
  const std::vector<std::size_t> flat = {5, 6};
  write_split(folder.path, "train", tinyq::write_idx(IdxType::u8, flat, Bytes(30)), labels_idx(5),
              false);
  check_load_fails_with(folder.path,
                        "expected MNIST images (ubyte of rank 3), found ubyte of rank 2");
  const std::vector<std::size_t> dims = {5, 2, 3};
  write_split(folder.path, "train", tinyq::write_idx(IdxType::i8, dims, Bytes(30)), labels_idx(5),
              false);
  check_load_fails_with(folder.path, "found sbyte of rank 3");
}

TEST_CASE("load_mnist_split refuses an empty split") {
  TempFolder folder;
  write_split(folder.path, "train", images_idx(0), labels_idx(0), false);
  check_load_fails_with(folder.path, "no images");
}

TEST_CASE("load_mnist_split names both paths it tried for a missing file") {
  TempFolder folder;
  check_load_fails_with(folder.path, "tried " + (folder.path / "train-images-idx3-ubyte").string() +
                                         " and " +
                                         (folder.path / "train-images-idx3-ubyte.gz").string());
  CHECK_FALSE(tinyq::holds_mnist_files(folder.path));
}

TEST_CASE("default_data_folders puts $TINYQ_DATA first and ends with the system folder") {
  const char* old = std::getenv("TINYQ_DATA");
  const std::string saved = old ? old : "";
  setenv("TINYQ_DATA", "/some/where", 1);
  const auto folders = tinyq::default_data_folders();
  REQUIRE(folders.size() >= 2);
  CHECK(folders.front() == fs::path("/some/where"));
  CHECK(folders.back() == fs::path("/usr/share/datasets/mnist"));

  TempFolder folder;
  write_split(folder.path, "train", images_idx(5), labels_idx(5), true);
  write_split(folder.path, "t10k", images_idx(3), labels_idx(3), true);
  setenv("TINYQ_DATA", folder.path.c_str(), 1);
  CHECK(tinyq::find_data_folder() == folder.path);
  if (old) {
    setenv("TINYQ_DATA", saved.c_str(), 1);
  } else {
    unsetenv("TINYQ_DATA");
  }
}
