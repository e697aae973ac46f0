// MNIST loading on top of the IDX reader, and the default folder search.
#include "data/mnist.hpp"

#include <cstdlib>

#include "core/cloned_loops.hpp"
#include "core/error.hpp"
#include "data/idx.hpp"

namespace tinyq {
namespace {

// The existing one of name and name.gz (raw first), or nullopt.
std::optional<std::filesystem::path> find_file(const std::filesystem::path& folder,
                                               const std::string& name) {
  std::error_code ec;
  for (const auto& candidate : {folder / name, folder / (name + ".gz")})
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  return std::nullopt;
}

std::filesystem::path require_file(const std::filesystem::path& folder, const std::string& name) {
  if (auto found = find_file(folder, name)) return *found;
  throw Error("MNIST file not found: tried " + (folder / name).string() + " and " +
              (folder / (name + ".gz")).string());
}

std::string describe(const IdxArray& a) {
  std::string dims;
  for (std::size_t d : a.dims) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  return idx_type_name(a.type) + " of rank " + std::to_string(a.dims.size()) + " [" + dims + "]";
}

}  // namespace

Dataset load_mnist_split(const std::filesystem::path& folder, const std::string& split) {
  if (split != "train" && split != "t10k")
    throw Error("load_mnist_split: unknown split \"" + split + "\" (expected train or t10k)");
  const auto image_path = require_file(folder, split + "-images-idx3-ubyte");
  const auto label_path = require_file(folder, split + "-labels-idx1-ubyte");
  IdxArray images = read_idx_file(image_path);
  const IdxArray labels = read_idx_file(label_path);

  if (images.type != IdxType::u8 || images.dims.size() != 3)
    throw Error(image_path.string() + ": expected MNIST images (ubyte of rank 3), found " +
                describe(images));
  if (labels.type != IdxType::u8 || labels.dims.size() != 1)
    throw Error(label_path.string() + ": expected MNIST labels (ubyte of rank 1), found " +
                describe(labels));
  const std::size_t n = images.dims[0];
  if (labels.dims[0] != n)
    throw Error(label_path.string() + ": holds " + std::to_string(labels.dims[0]) +
                " labels, but " + image_path.string() + " holds " + std::to_string(n) + " images");
  if (n == 0 || images.dims[1] == 0 || images.dims[2] == 0)
    throw Error(image_path.string() + ": no images (found " + describe(images) + ")");
  for (std::size_t i = 0; i < n; ++i)
    if (labels.data[i] > 9)
      throw Error(label_path.string() + ": label " + std::to_string(i) + " is " +
                  std::to_string(labels.data[i]) + " (expected 0..9)");

  Dataset set;
  set.rows = images.dims[1];
  set.cols = images.dims[2];
  set.pixels = std::move(images.data);
  set.labels = labels.data;
  return set;
}

namespace {

// One division per pixel, 16 to an instruction in the AVX-512 clone: a
// division is correctly rounded at every vector width, so every clone gives
// pixel_value's bits (core/cloned_loops.hpp). The baseline build divides 4
// at a time. Batcher::next alone, 64 shuffled Fashion-MNIST rows, Intel Xeon,
// medians of 9 runs: 11.0 -> 8.6 us a batch on one thread, 6.8 -> 5.6 on
// two. In a training step the gather takes 30-36 us on one thread and 15 on
// two, because the rest of the step has filled the L2 (writing 4 MiB
// between batches gives 19.5 and 10.8): there it gained 3-4 us on one
// thread and nothing measurable on two.
TINYQ_EXACT_CLONES_BEGIN
TINYQ_CLONED void divide_by_255(const std::uint8_t* pixels, float* out, std::size_t n) {
  TINYQ_NO_CONTRACT
  for (std::size_t i = 0; i < n; ++i) out[i] = pixel_value(pixels[i]);
}
TINYQ_EXACT_CLONES_END

}  // namespace

void pixels_to_floats(std::span<const std::uint8_t> pixels, std::span<float> out) {
  if (pixels.size() != out.size())
    throw Error("pixels_to_floats: " + std::to_string(pixels.size()) + " pixels into " +
                std::to_string(out.size()) + " floats");
  divide_by_255(pixels.data(), out.data(), pixels.size());
}

void Dataset::copy_images(std::size_t begin, std::size_t count, Tensor& out) const {
  if (begin > size() || count > size() - begin)
    throw Error("Dataset::copy_images: samples [" + std::to_string(begin) + ", " +
                std::to_string(begin + count) + ") of a set of " + std::to_string(size()));
  out.resize(Shape{count, features()});
  pixels_to_floats(std::span(pixels).subspan(begin * features(), count * features()), out.values());
}

Tensor Dataset::float_images() const {
  Tensor out;
  copy_images(0, size(), out);
  return out;
}

Mnist load_mnist(const std::filesystem::path& folder) {
  Mnist mnist{load_mnist_split(folder, "train"), load_mnist_split(folder, "t10k")};
  if (mnist.train.rows != mnist.test.rows || mnist.train.cols != mnist.test.cols)
    throw Error(folder.string() + ": train images are " + std::to_string(mnist.train.rows) + "x" +
                std::to_string(mnist.train.cols) + " but t10k images are " +
                std::to_string(mnist.test.rows) + "x" + std::to_string(mnist.test.cols));
  return mnist;
}

std::vector<std::filesystem::path> default_data_folders() {
  std::vector<std::filesystem::path> folders;
  if (const char* env = std::getenv("TINYQ_DATA"); env && *env) folders.emplace_back(env);
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    folders.push_back(std::filesystem::path(xdg) / "tinyq" / "mnist");
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    folders.push_back(std::filesystem::path(home) / ".local" / "share" / "tinyq" / "mnist");
  }
  folders.emplace_back("/usr/share/datasets/mnist");
  return folders;
}

bool holds_mnist_files(const std::filesystem::path& folder) {
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    if (!find_file(folder, name)) return false;
  return true;
}

std::optional<std::filesystem::path> find_data_folder() {
  for (const auto& folder : default_data_folders())
    if (holds_mnist_files(folder)) return folder;
  return std::nullopt;
}

}  // namespace tinyq
