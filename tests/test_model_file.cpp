// The .tqm model file: round trip, and a refusal for each kind of damage.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/binary_io.hpp"
#include "core/io/crc32.hpp"
#include "core/io/file_io.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_file.hpp"
#include "nn/relu.hpp"
#include "nn/sequential.hpp"

using namespace tinyq;
namespace fs = std::filesystem;

namespace {

Sequential small_model() {
  Sequential model = make_mlp(5, {4}, 3, 21);
  Rng rng(4);
  for (float& b : static_cast<Dense&>(model.layer(0)).bias().values()) b = rng.uniform(-1, 1);
  return model;
}

// Rewrites the trailing CRC so a deliberately malformed body gets past the
// checksum and reaches the check under test.
void fix_checksum(std::vector<std::uint8_t>& bytes) {
  const std::uint32_t crc = crc32(std::span(bytes).first(bytes.size() - 4));
  for (int i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

// Builds a file from hand-written layer records: (kind, payload).
std::vector<std::uint8_t> handmade(
    const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& layers,
    std::uint32_t version = 1) {
  BinaryWriter out;
  const std::string magic = "TINYQMDL";
  out.raw(std::span(reinterpret_cast<const std::uint8_t*>(magic.data()), magic.size()));
  out.u32(version);
  out.u32(static_cast<std::uint32_t>(layers.size()));
  for (const auto& [kind, payload] : layers) {
    out.string(kind);
    out.u64(payload.size());
    out.raw(payload);
  }
  out.u32(crc32(out.bytes()));
  return out.bytes();
}

std::vector<std::uint8_t> dense_payload(std::uint32_t in, std::uint32_t out) {
  BinaryWriter w;
  w.u32(in);
  w.u32(out);
  w.f32_array(std::vector<float>(std::size_t{in} * out + out, 0.25f));
  return w.bytes();
}

void check_refused(const std::vector<std::uint8_t>& bytes, const std::string& message) {
  INFO("expected an error containing: " << message);
  try {
    deserialize_model(bytes, "m.tqm");
    FAIL_CHECK("the model was accepted");
  } catch (const Error& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    CHECK(what.find(message) != std::string::npos);
    CHECK(what.rfind("m.tqm", 0) == 0);  // starts with the file name
    CHECK(what.find('\n') == std::string::npos);
  }
}

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path =
        fs::temp_directory_path() / ("tinyq_model_file_" + std::to_string(std::random_device{}()) +
                                     "_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("a saved and loaded model gives bit-identical outputs") {
  Sequential model = small_model();
  TempDir dir;
  const fs::path file = dir.path / "model.tqm";
  save_model(model, file);
  Sequential loaded = load_model(file);
  CHECK(loaded.describe() == model.describe());

  Tensor x({3, 5});
  Rng rng(8);
  for (float& v : x.values()) v = rng.uniform(-2, 2);
  const Tensor expected = model.forward(x);
  const Tensor& found = loaded.forward(x);
  REQUIRE(found.shape() == expected.shape());
  CHECK(std::memcmp(found.data(), expected.data(), expected.size() * sizeof(float)) == 0);
  CHECK(serialize_model(loaded) == serialize_model(model));
}

TEST_CASE("the file layout is the documented one") {
  const std::vector<std::uint8_t> bytes = serialize_model(small_model());
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "TINYQMDL");
  BinaryReader in(bytes, "m.tqm");
  in.raw(8);
  CHECK(in.u32() == 1);
  CHECK(in.u32() == 3);
  CHECK(in.string() == "dense");
  CHECK(in.u64() == 8 + 4 * (5 * 4 + 4));
  // Header 16, then dense(5->4) 4+5+8+104, relu 4+4+8, dense(4->3) 4+5+8+68, CRC 4.
  CHECK(bytes.size() == 16 + 121 + 16 + 85 + 4);
}

TEST_CASE("a flipped byte is caught by the checksum") {
  std::vector<std::uint8_t> bytes = serialize_model(small_model());
  bytes[60] ^= 0x01;  // inside the first layer's weights
  check_refused(bytes, "checksum");
}

TEST_CASE("a truncated file is refused") {
  const std::vector<std::uint8_t> full = serialize_model(small_model());
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{14}, std::size_t{40},
                           full.size() - 5, full.size() - 1}) {
    INFO("kept " << keep << " bytes");
    CHECK_THROWS_AS(deserialize_model(std::span(full).first(keep), "m.tqm"), Error);
  }
  check_refused(std::vector<std::uint8_t>(full.begin(), full.end() - 10), "truncated");
}

TEST_CASE("trailing bytes are refused") {
  std::vector<std::uint8_t> bytes = serialize_model(small_model());
  bytes.push_back(0);
  check_refused(bytes, "trailing");
}

TEST_CASE("a wrong magic is refused") {
  std::vector<std::uint8_t> bytes = serialize_model(small_model());
  bytes[0] = 'X';
  check_refused(bytes, "magic");
}

TEST_CASE("an unknown version is refused") {
  check_refused(handmade({{"relu", {}}}, 2), "version 2");
}

TEST_CASE("an unknown kind with a valid checksum is refused") {
  check_refused(handmade({{"convolution", {}}}), "unknown layer kind \"convolution\"");
}

TEST_CASE("a kind tag with control characters is refused without echoing them") {
  check_refused(handmade({{"re\nlu", {}}}), "not printable");
}

TEST_CASE("layers whose widths do not chain are refused") {
  check_refused(handmade({{"dense", dense_payload(3, 4)}, {"dense", dense_payload(5, 2)}}),
                "expects 5 inputs");
}

TEST_CASE("a payload longer or shorter than its loader reads is refused") {
  std::vector<std::uint8_t> longer = dense_payload(2, 2);
  longer.push_back(0);
  check_refused(handmade({{"dense", longer}}), "loader used");
  check_refused(handmade({{"relu", {1, 2, 3}}}), "loader used");
  std::vector<std::uint8_t> shorter = dense_payload(2, 2);
  shorter.pop_back();
  check_refused(handmade({{"dense", shorter}}), "needs 6 floats, only 23 bytes remain");
}

TEST_CASE("absurd sizes are refused before allocating") {
  BinaryWriter huge;
  huge.u32(0xFFFFFFFF);
  huge.u32(0xFFFFFFFF);
  check_refused(handmade({{"dense", huge.bytes()}}), "only 0 bytes remain");
  // A layer count far beyond what the file could hold.
  std::vector<std::uint8_t> bytes = handmade({{"relu", {}}});
  bytes[12] = 0xFF;
  bytes[13] = 0xFF;
  bytes[14] = 0xFF;
  fix_checksum(bytes);
  check_refused(bytes, "layers cannot fit");
  // A payload length near 2^64.
  std::vector<std::uint8_t> long_payload = handmade({{"relu", {}}});
  for (std::size_t i = 16 + 8; i < 16 + 8 + 8; ++i) long_payload[i] = 0xFF;
  check_refused(long_payload, "declares");
}

TEST_CASE("zero layers are refused, on load and on save") {
  check_refused(handmade({}), "zero layers");
  CHECK_THROWS_AS(serialize_model(Sequential()), Error);
}

TEST_CASE("a failed save leaves no file behind and an existing file intact") {
  const Sequential model = small_model();
  TempDir dir;
  const fs::path missing = dir.path / "no_such_folder" / "model.tqm";
  CHECK_THROWS_AS(save_model(model, missing), Error);
  CHECK_FALSE(fs::exists(missing));
  CHECK_FALSE(fs::exists(dir.path / "no_such_folder"));

  // Make a save fail where the target exists: core/io/file_io writes a
  // temporary named "<target>.<pid>.<n>.tmp" first, which a target name near
  // NAME_MAX (255 bytes) leaves no room for (permissions would not do: root
  // ignores them).
  const fs::path target = dir.path / (std::string(250, 'm') + ".tqm");
  const std::vector<std::uint8_t> before = serialize_model(model);
  std::ofstream(target, std::ios::binary)
      .write(reinterpret_cast<const char*>(before.data()),
             static_cast<std::streamsize>(before.size()));
  CHECK_THROWS_AS(save_model(make_mlp(5, {2}, 3, 1), target), Error);
  CHECK(read_file(target, 1 << 20) == before);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("load_model names a missing file") {
  CHECK_THROWS_WITH_AS(load_model("/nonexistent/dir/model.tqm"),
                       doctest::Contains("/nonexistent/dir/model.tqm"), Error);
}

TEST_CASE("a registry can add kinds that nn does not know") {
  LayerRegistry registry = float_layers();
  registry.add("identity", [](BinaryReader&) { return std::make_unique<Relu>(); });
  CHECK(registry.knows("identity"));
  CHECK(deserialize_model(handmade({{"identity", {}}}), "m.tqm", registry).size() == 1);
}
