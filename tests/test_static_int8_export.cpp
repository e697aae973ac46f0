// The C export of static int8 (quant/static_int8/c_export.hpp): the file is
// compiled by the system C compiler as strict C99 with warnings as errors,
// run on every image, and its scores must equal the integer pipeline's bit
// for bit. Without a C compiler (`cc`) the compile-and-run cases say so and
// check nothing else.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/random.hpp"
#include "quant/static_int8/c_export.hpp"
#include "quant/static_int8/quantize_static.hpp"
#include "quant/static_int8/static_network.hpp"
#include "random_tensor.hpp"
#include "static_int8_models.hpp"

using namespace tinyq;
namespace fs = std::filesystem;

namespace {

bool have_c_compiler() {
  return std::system("command -v cc >/dev/null 2>&1") == 0;
}

// A folder of its own for one test run, removed at the end.
struct WorkDir {
  fs::path path =
      fs::temp_directory_path() / ("tinyq_c_export_" + std::to_string(::getpid()) + "_" +
                                   std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  WorkDir() { fs::create_directories(path); }
  ~WorkDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Compiles the exported model with a small driver that prints, per image,
// the returned class and the scores; returns those lines.
std::vector<std::string> run_exported(const StaticInt8Network& network,
                                      const std::vector<std::uint8_t>& pixels) {
  WorkDir dir;
  write(dir.path / "model.c", export_c(network, "test"));
  const std::string in = std::to_string(network.inputs()), out = std::to_string(network.outputs());
  write(dir.path / "driver.c",
        "#include <stdint.h>\n#include <stdio.h>\n"
        "int tinyq_predict(const uint8_t pixels[" +
            in + "], int32_t scores[" + out +
            "]);\n"
            "int main(int argc, char **argv) {\n"
            "  uint8_t pixels[" +
            in + "]; int32_t scores[" + out +
            "]; int j;\n"
            "  FILE *f = fopen(argv[argc - 1], \"rb\");\n"
            "  if (!f) return 1;\n"
            "  while (fread(pixels, 1, " +
            in + ", f) == " + in +
            ") {\n"
            "    printf(\"%d\", tinyq_predict(pixels, scores));\n"
            "    for (j = 0; j < " +
            out +
            "; ++j) printf(\" %ld\", (long)scores[j]);\n"
            "    printf(\"\\n\");\n  }\n  fclose(f);\n  return 0;\n}\n");
  write(dir.path / "pixels.bin", std::string(pixels.begin(), pixels.end()));
  const std::string d = dir.path.string();
  const std::string compile = "cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -o " + d +
                              "/model " + d + "/model.c " + d + "/driver.c > " + d + "/cc.log 2>&1";
  const int status = std::system(compile.c_str());
  if (status != 0) {
    std::ifstream log(dir.path / "cc.log");
    std::stringstream text;
    text << log.rdbuf();
    FAIL("the exported C did not compile as strict C99: " << text.str());
  }
  REQUIRE(std::system((d + "/model " + d + "/pixels.bin > " + d + "/scores.txt").c_str()) == 0);
  std::ifstream scores(dir.path / "scores.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(scores, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> expected_lines(const StaticInt8Network& network,
                                        const std::vector<std::uint8_t>& pixels) {
  const std::size_t out = network.outputs(), n = pixels.size() / network.inputs();
  std::vector<std::int32_t> scores(n * out);
  network.scores(Isa::generic, pixels, scores);
  const auto classes = network.predict(Isa::generic, pixels);
  std::vector<std::string> lines;
  for (std::size_t r = 0; r < n; ++r) {
    std::string line = std::to_string(classes[r]);
    for (std::size_t j = 0; j < out; ++j) {
      line += ' ';
      line += std::to_string(scores[r * out + j]);
    }
    lines.push_back(line);
  }
  return lines;
}

void check_export(const StaticInt8Network& network, const std::vector<std::uint8_t>& pixels) {
  if (!have_c_compiler()) {
    MESSAGE("C export NOT TESTED: no C compiler `cc` on this machine");
    return;
  }
  const auto got = run_exported(network, pixels);
  const auto expected = expected_lines(network, pixels);
  REQUIRE(got.size() == expected.size());
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < got.size(); ++r) mismatches += got[r] != expected[r];
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("the exported C gives the integer pipeline's scores on random models with ties") {
  Rng rng(31);
  for (const bool ties : {true, false}) {
    const auto layers = test::random_network({784, 48, 20, 10}, ties, rng);
    check_export(StaticInt8Network(test::as_model(layers)), test::random_pixels(150, 784, rng));
  }
  const auto odd = test::random_network({13, 7, 10}, false, rng);
  check_export(StaticInt8Network(test::as_model(odd)), test::random_pixels(40, 13, rng));
}

TEST_CASE("the exported C gives the scores of a calibrated model") {
  Rng rng(12);
  const Sequential model = make_mlp(784, {64, 32}, 10, 2);
  Tensor images = test::random_tensor(Shape{200, 784}, rng, 0.0f, 1.0f);
  for (float& v : images.values()) v = std::nearbyint(v * 255.0f) / 255.0f;
  const StaticInt8Network network(
      quantize_static_int8(model, images, {.observer = Observer::percentile}));
  check_export(network, pixels_of(images));
}

TEST_CASE("the exported C holds only <stdint.h>, no float and no allocation") {
  Rng rng(1);
  const std::string text = export_c(
      StaticInt8Network(test::as_model(test::random_network({16, 8, 4}, false, rng))), "m");
  std::size_t includes = 0;
  for (std::size_t at = text.find("#include"); at != std::string::npos;
       at = text.find("#include", at + 1))
    ++includes;
  CHECK(includes == 1);
  CHECK(text.find("#include <stdint.h>") != std::string::npos);
  for (const char* word : {"float", "double", "malloc", "static int8_t", "static uint8_t"})
    CHECK(text.find(word) == std::string::npos);
  CHECK(text.find("int tinyq_predict(const uint8_t pixels[16], int32_t scores[4])") !=
        std::string::npos);
  const CExportSizes sizes = c_export_sizes(
      StaticInt8Network(test::as_model(test::random_network({16, 8, 4}, false, rng))));
  CHECK(sizes.flash_bytes == 16 * 8 + 12 * 8 + 8 * 4 + 12 * 4);
  CHECK(sizes.ram_bytes == 8);
}
