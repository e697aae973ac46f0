// load_model picks the reader by content (not by the file name), and
// save_safetensors writes any model, float or quantized, in one layout.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.hpp"
#include "core/io/file_io.hpp"
#include "core/io/safetensors.hpp"
#include "core/random.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "quant/quantize_model.hpp"
#include "quant/registry.hpp"

using namespace tinyq;
namespace fs = std::filesystem;

namespace {

// A file in the system temp folder, unique to this process (suites of two
// builds may run at once), removed when the test ends.
struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& name)
      : path(fs::temp_directory_path() /
             ("tinyq_test_model_io_" + std::to_string(getpid()) + "_" + name)) {}
  ~TempFile() { fs::remove(path); }
};

bool same_outputs(Sequential& a, Sequential& b) {
  Tensor x(Shape{3, 9});
  Rng rng(1);
  for (float& v : x.values()) v = rng.uniform();
  const Tensor ya = a.forward(x);
  const Tensor yb = b.forward(x);
  return ya.shape() == yb.shape() &&
         std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0;
}

void write_bytes(const fs::path& path, const std::string& text) {
  write_file_atomically(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace

TEST_CASE("a tinyq model file loads whatever its name") {
  Sequential model = make_mlp(9, {6}, 4, 3);
  const TempFile file("model.safetensors");  // misleading extension on purpose
  save_model(model, file.path);
  Sequential back = load_model(file.path, all_layers());
  CHECK(same_outputs(model, back));
}

TEST_CASE("a float model exports in PyTorch's layout and loads back") {
  Sequential model = make_mlp(9, {6}, 4, 3);
  const TempFile file("float.safetensors");
  const std::size_t bytes = save_safetensors(model, file.path);
  CHECK(bytes == fs::file_size(file.path));
  const auto content = read_file(file.path, 1 << 20);
  CHECK(read_safetensors(content, "f").find("0.weight") != nullptr);
  Sequential back = load_model(file.path, all_layers());
  CHECK(same_outputs(model, back));
}

TEST_CASE("a quantized model exports with its state dicts and loads back") {
  QuantConfig config;
  config.format.bits = 4;
  Sequential model = quantize_model(make_mlp(9, {6}, 4, 3), config);
  const TempFile file("quantized.safetensors");
  save_safetensors(model, file.path);
  const auto content = read_file(file.path, 1 << 20);
  CHECK(read_safetensors(content, "q").metadata.count("tinyq.format") == 1);
  Sequential back = load_model(file.path, all_layers());
  CHECK(back.describe() == model.describe());
  CHECK(same_outputs(model, back));
}

TEST_CASE("other files are refused naming the file and both formats") {
  const TempFile file("text.bin");
  write_bytes(file.path, "hello, this is not a model");
  CHECK_THROWS_WITH_AS(load_model(file.path, all_layers()),
                       doctest::Contains("not a model file (expected a tinyq model"), Error);
  write_bytes(file.path, std::string("\x02\0\0\0\0\0\0\0[]", 10));
  CHECK_THROWS_WITH_AS(load_model(file.path, all_layers()), doctest::Contains("not a model file"),
                       Error);
  // Recognised as safetensors, then refused by the strict reader.
  write_bytes(file.path, std::string("\x03\0\0\0\0\0\0\0{}x", 11));
  CHECK_THROWS_WITH_AS(load_model(file.path, all_layers()), doctest::Contains("JSON"), Error);
  CHECK_THROWS_AS(load_model(fs::temp_directory_path() / "tinyq_no_such_model"), Error);
}
