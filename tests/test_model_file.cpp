// The .tqm model file: round trip, and a refusal for each kind of damage.
#include <doctest/doctest.h>

#include <cmath>
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

// A version 2 payload: the state dict as serialize_model writes it.
std::vector<std::uint8_t> state_payload(const StateDict& state) {
  BinaryWriter out;
  out.u32(static_cast<std::uint32_t>(state.attributes.size()));
  for (const auto& [key, value] : state.attributes) {
    out.string(key);
    out.string(value);
  }
  out.u32(static_cast<std::uint32_t>(state.tensors.size()));
  for (const auto& [name, tensor] : state.tensors) {
    out.string(name);
    out.string(std::string(dtype_name(tensor.dtype)));
    out.u8(static_cast<std::uint8_t>(tensor.shape.size()));
    for (const auto extent : tensor.shape) out.u64(extent);
    out.raw(tensor.bytes);
  }
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
  const Sequential model = small_model();
  const std::vector<std::uint8_t> bytes = serialize_model(model);
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "TINYQMDL");
  BinaryReader in(bytes, "m.tqm");
  in.raw(8);
  CHECK(in.u32() == 2);
  CHECK(in.u32() == 3);
  CHECK(in.string() == "dense");
  // Dense(5 -> 4)'s state dict: no attributes, two tensors.
  CHECK(in.u64() == 4 + 4 + (4 + 6 + 4 + 3 + 1 + 16 + 80) + (4 + 4 + 4 + 3 + 1 + 8 + 16));
  CHECK(in.u32() == 0);
  CHECK(in.u32() == 2);
  CHECK(in.string() == "weight");
  CHECK(in.string() == "F32");
  CHECK(in.u8() == 2);
  CHECK(in.u64() == 4);
  CHECK(in.u64() == 5);
  const auto weight = model.layer(0).state().find("weight")->bytes;
  const auto stored = in.raw(80);
  CHECK(std::equal(stored.begin(), stored.end(), weight.begin(), weight.end()));
  CHECK(in.string() == "bias");
  // Header 16; dense(5->4) 4+5+8+162; relu 4+4+8+8; dense(4->3) 4+5+8+126; CRC 4.
  CHECK(bytes.size() == 16 + 179 + 24 + 143 + 4);
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
  check_refused(handmade({{"relu", {}}}, 3), "version 3");
  check_refused(handmade({{"relu", {}}}, 0), "version 0");
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

TEST_CASE("a payload longer or shorter than its contents is refused") {
  std::vector<std::uint8_t> longer = dense_payload(2, 2);
  longer.push_back(0);
  check_refused(handmade({{"dense", longer}}), "contents end after 32");
  check_refused(handmade({{"relu", {1, 2, 3}}}), "contents end after 0");
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
  registry.add({"identity",
                [](const StateDict& state, const std::string& where) -> std::unique_ptr<Layer> {
                  StateReader(state, where).finish();
                  return std::make_unique<Relu>();
                },
                [](BinaryReader&) { return StateDict(); }});
  CHECK(registry.knows("identity"));
  CHECK(deserialize_model(handmade({{"identity", {}}}), "m.tqm", registry).size() == 1);
  CHECK(
      deserialize_model(handmade({{"identity", state_payload(StateDict())}}, 2), "m.tqm", registry)
          .size() == 1);
}

TEST_CASE("a kind born after version 1 is refused in a version 1 file") {
  LayerRegistry registry = float_layers();
  registry.add({"identity",
                [](const StateDict&, const std::string&) -> std::unique_ptr<Layer> {
                  return std::make_unique<Relu>();
                },
                nullptr});
  CHECK_THROWS_WITH_AS(deserialize_model(handmade({{"identity", {}}}), "m.tqm", registry),
                       doctest::Contains("did not exist in model file version 1"), Error);
}

TEST_CASE("version 1 files (before state dicts) load as they did") {
  // A v1 Dense payload with known values: the loaded layer holds them exactly.
  BinaryWriter payload;
  payload.u32(2);
  payload.u32(1);
  payload.f32_array(std::vector<float>{0.5f, -1.25f});
  payload.f32_array(std::vector<float>{3.0f});
  const Sequential model = deserialize_model(handmade({{"dense", payload.bytes()}}), "v1.tqm");
  const StateDict state = model.layer(0).state();
  CHECK(state.find("weight")->floats() == std::vector<float>{0.5f, -1.25f});
  CHECK(state.find("bias")->floats() == std::vector<float>{3.0f});
}

TEST_CASE("a non-finite parameter is refused, naming the file, tensor and index") {
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    Sequential model = small_model();
    StateDict state = model.layer(2).state();
    std::vector<float> w = state.find("weight")->floats();
    w[1 * 4 + 2] = bad;
    state.tensors[0].second = StateTensor::of_floats({3, 4}, w);
    const auto bytes = handmade({{"dense", state_payload(model.layer(0).state())},
                                 {"relu", state_payload({})},
                                 {"dense", state_payload(state)}},
                                2);
    CHECK_THROWS_WITH_AS(deserialize_model(bytes, "m.tqm"),
                         doctest::Contains("m.tqm: layer 2 (dense): tensor \"weight\" [1, 2] is"),
                         Error);
  }
  BinaryWriter v1;
  v1.u32(1);
  v1.u32(1);
  v1.f32_array(std::vector<float>{1.0f});
  v1.f32_array(std::vector<float>{INFINITY});
  check_refused(handmade({{"dense", v1.bytes()}}), "tensor \"bias\" [0] is +infinity");
}

TEST_CASE("a version 2 state dict is checked entry by entry") {
  StateDict state = small_model().layer(0).state();
  StateDict extra = state;
  extra.add("scale", StateTensor::of_floats({1}, std::vector<float>{1.0f}));
  check_refused(handmade({{"dense", state_payload(extra)}}, 2), "unexpected tensor \"scale\"");
  StateDict attribute = state;
  attribute.attributes["color"] = "red";
  check_refused(handmade({{"dense", state_payload(attribute)}}, 2),
                "unexpected attribute \"color\"");
  StateDict missing;
  missing.add("weight", state.tensors[0].second);
  check_refused(handmade({{"dense", state_payload(missing)}}, 2), "missing tensor \"bias\"");
  StateDict wrong_shape = state;
  wrong_shape.tensors[1].second.shape = {2, 2};
  check_refused(handmade({{"dense", state_payload(wrong_shape)}}, 2),
                "tensor \"bias\": expected F32 [4], found F32 [2, 2]");
  StateDict wrong_dtype = state;
  wrong_dtype.tensors[0].second.dtype = Dtype::i32;
  check_refused(handmade({{"dense", state_payload(wrong_dtype)}}, 2), "expected F32 of rank 2");

  // Byte-level damage: an unknown dtype name, a rank above 4, a duplicate name.
  std::vector<std::uint8_t> bytes = state_payload(state);
  const std::size_t dtype_at = 4 + 4 + 4 + 6 + 4;  // counts, "weight", then "F32"
  bytes[dtype_at] = 'X';
  check_refused(handmade({{"dense", bytes}}, 2), "unknown dtype");
  bytes = state_payload(state);
  bytes[dtype_at + 3] = 5;
  check_refused(handmade({{"dense", bytes}}, 2), "rank 5, at most 4");
  StateDict twice = state;
  twice.tensors[1].first = "weight";
  check_refused(handmade({{"dense", state_payload(twice)}}, 2), "appears twice");
  // Extents whose byte count overflows, refused before allocating.
  bytes = state_payload(state);
  for (std::size_t i = dtype_at + 4; i < dtype_at + 4 + 16; ++i) bytes[i] = 0xFF;
  check_refused(handmade({{"dense", bytes}}, 2), "needs more than the");
}
