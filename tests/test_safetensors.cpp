// safetensors files: the writer's exact bytes, round trips, a refusal for each
// kind of malformed file, and the PyTorch nn.Sequential mapping of an MLP.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "core/random.hpp"
#include "nn/dense.hpp"
#include "nn/model_safetensors.hpp"
#include "nn/relu.hpp"
#include "nn/sequential.hpp"

using namespace tinyq;

namespace {

using Bytes = std::vector<std::uint8_t>;

// The 8-byte little-endian size, the header text as given, then the data.
Bytes file_of(const std::string& header, const Bytes& data, std::uint64_t size_field) {
  Bytes out(8 + header.size() + data.size());
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(size_field >> (8 * i));
  for (std::size_t i = 0; i < header.size(); ++i) out[8 + i] = static_cast<std::uint8_t>(header[i]);
  for (std::size_t i = 0; i < data.size(); ++i) out[8 + header.size() + i] = data[i];
  return out;
}
Bytes file_of(const std::string& header, std::size_t data_bytes) {
  return file_of(header, Bytes(data_bytes, 0), header.size());
}

std::string refusal(const Bytes& bytes) {
  try {
    read_safetensors(bytes, "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("accepted a malformed file");
  return "";
}
bool refused_with(const Bytes& bytes, const std::string& part) {
  const std::string message = refusal(bytes);
  INFO(message);
  CHECK(message.rfind("m.safetensors: ", 0) == 0);
  return message.find(part) != std::string::npos;
}

// One F32 tensor "t" [2] at [0, 8) plus whatever entry text is given.
std::string header_with(const std::string& entry) {
  return "{" + entry + "}";
}

}  // namespace

TEST_CASE("the writer lays out one F32 tensor exactly as the reference implementation") {
  const std::vector<float> values{0, 1, 2, 3, 4, 5};
  const Bytes data = f32_bytes(values);
  const SafetensorsTensor t{"attn.0", Dtype::f32, {1, 2, 3}, data};
  const Bytes bytes = write_safetensors(std::span(&t, 1), {});
  // 64 header bytes: already a multiple of 8, so no padding.
  const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(header.size() == 64);
  CHECK(bytes == file_of(header, data, 64));
  // 1.0f is 00 00 80 3F in little-endian.
  CHECK(bytes[8 + 64 + 4 + 2] == 0x80);
  CHECK(bytes[8 + 64 + 4 + 3] == 0x3F);
}

TEST_CASE("the header is padded with spaces to a multiple of 8; metadata comes first") {
  CHECK(write_safetensors({}, {}) == file_of("{}      ", {}, 8));
  CHECK(write_safetensors({}, {{"framework", "pt"}}) ==
        file_of(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '), {}, 40));
}

TEST_CASE("the spec's example file, built byte by byte, is read") {
  // 60-byte header, then a 2x2 I32 tensor of 16 bytes.
  const std::string header = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";
  REQUIRE(header.size() == 60);
  Bytes data(16, 0);
  data[4] = 7;  // element [0][1] = 7
  const Bytes bytes = file_of(header, data, 60);
  const SafetensorsFile file = read_safetensors(bytes, "example");
  REQUIRE(file.tensors.size() == 1);
  const SafetensorsTensor& t = file.tensors[0];
  CHECK(t.name == "test");
  CHECK(t.dtype == Dtype::i32);
  CHECK(t.shape == std::vector<std::uint64_t>{2, 2});
  CHECK(t.bytes.size() == 16);
  CHECK(t.bytes.data() == bytes.data() + 8 + 60);  // a view, not a copy
  CHECK(t.bytes[4] == 7);
  CHECK(file.metadata.empty());
}

TEST_CASE("a round trip keeps names, dtypes, shapes, bytes and metadata") {
  const Bytes f32 = f32_bytes(std::vector<float>{1.5f, -2.0f, 3.25f});
  const Bytes u8{1, 2, 3, 4, 5};
  const Bytes f64(8 * 2, 0x11);
  const Bytes i16{0xff, 0x7f};
  const std::vector<SafetensorsTensor> tensors{
      {"w", Dtype::f32, {3}, f32},
      {"codes", Dtype::u8, {5}, u8},
      {"d", Dtype::f64, {1, 2}, f64},
      {"scalar", Dtype::i16, {}, i16},
      {"empty", Dtype::f32, {0, 4}, {}},
      {"name with \"quotes\" \\ and \xC3\xA9", Dtype::u8, {0}, {}}};
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "line\nbreak"}};
  const Bytes bytes = write_safetensors(tensors, metadata);
  const SafetensorsFile file = read_safetensors(bytes, "rt");
  CHECK(file.metadata == metadata);
  REQUIRE(file.tensors.size() == tensors.size());
  for (const auto& t : tensors) {
    const SafetensorsTensor* r = file.find(t.name);
    REQUIRE(r != nullptr);
    CHECK(r->dtype == t.dtype);
    CHECK(r->shape == t.shape);
    CHECK(Bytes(r->bytes.begin(), r->bytes.end()) == Bytes(t.bytes.begin(), t.bytes.end()));
  }
  CHECK(f32_values(*file.find("w")) == std::vector<float>{1.5f, -2.0f, 3.25f});
  CHECK(file.find("scalar")->element_count() == 1);
  CHECK(file.find("missing") == nullptr);
}

TEST_CASE("the writer orders tensors by alignment so each starts at a multiple of its size") {
  const Bytes one(1), four(4), eight(8);
  const std::vector<SafetensorsTensor> tensors{{"b", Dtype::u8, {1}, one},
                                               {"a", Dtype::f32, {1}, four},
                                               {"c", Dtype::f64, {1}, eight},
                                               {"a2", Dtype::i32, {1}, four}};
  const Bytes bytes = write_safetensors(tensors, {});
  const SafetensorsFile file = read_safetensors(bytes, "order");
  REQUIRE(file.tensors.size() == 4);
  // F64, then F32 (after I32 in the reference's dtype order), I32, then U8.
  CHECK(file.tensors[0].name == "c");
  CHECK(file.tensors[1].name == "a");
  CHECK(file.tensors[2].name == "a2");
  CHECK(file.tensors[3].name == "b");
  for (const auto& t : file.tensors)
    CHECK((t.bytes.data() - bytes.data()) % dtype_size(t.dtype) == 0);
}

TEST_CASE("the writer refuses what cannot be a valid file") {
  const Bytes four(4);
  const std::vector<SafetensorsTensor> twice{{"a", Dtype::f32, {1}, four},
                                             {"a", Dtype::f32, {1}, four}};
  CHECK_THROWS_WITH_AS(write_safetensors(twice, {}), doctest::Contains("two tensors named"), Error);
  const std::vector<SafetensorsTensor> reserved{{"__metadata__", Dtype::f32, {1}, four}};
  CHECK_THROWS_AS(write_safetensors(reserved, {}), Error);
  const std::vector<SafetensorsTensor> missized{{"a", Dtype::f32, {2}, four}};
  CHECK_THROWS_WITH_AS(write_safetensors(missized, {}), doctest::Contains("does not match"), Error);
  const std::vector<SafetensorsTensor> bad_name{{"\xFF", Dtype::f32, {1}, four}};
  CHECK_THROWS_WITH_AS(write_safetensors(bad_name, {}), doctest::Contains("UTF-8"), Error);
}

TEST_CASE("headers that are too short, too long or beyond the file are refused") {
  CHECK(refused_with(Bytes{1, 0, 0}, "too short"));
  CHECK(refused_with(file_of("{", {}, 1), "below 2 bytes"));
  CHECK(refused_with(file_of("{}", {}, 1ull << 63), "exceeds the limit"));
  CHECK(refused_with(file_of("{}", {}, 100'000'001), "exceeds the limit"));
  CHECK(refused_with(file_of("{}", {}, 3), "exceeds the 2 bytes"));
  CHECK(refused_with(file_of(" {}", 0), "does not start with '{'"));
  CHECK(refused_with(file_of("[]", 0), "does not start with '{'"));
  CHECK(refused_with(file_of("{}x", 0), "JSON"));
  CHECK(refused_with(file_of("{\"a\":", 0), "JSON"));
  // Padding with spaces is part of the format; other trailing bytes are not.
  CHECK(read_safetensors(file_of("{}    ", 0), "ok").tensors.empty());
  CHECK(refused_with(file_of(std::string("{}") + '\0', 0), "JSON"));
}

TEST_CASE("tensor ranges outside the buffer, overlapping, or leaving holes are refused") {
  const std::string t0 = R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]})";
  CHECK(read_safetensors(file_of(header_with(t0), 4), "ok").tensors.size() == 1);
  CHECK(refused_with(file_of(header_with(t0), 3), "outside the data buffer of 3 bytes"));
  const std::string far =
      R"("a":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]})";
  CHECK(refused_with(file_of(header_with(far), 0), "outside the data buffer"));
  const std::string overlap = R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]})";
  CHECK(refused_with(file_of(header_with(t0 + "," + overlap), 6), "overlaps tensor \"a\""));
  const std::string same = R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]})";
  CHECK(refused_with(file_of(header_with(t0 + "," + same), 4), "overlaps"));
  const std::string gap = R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]})";
  CHECK(refused_with(file_of(header_with(t0 + "," + gap), 8), "bytes 4..6 belong to no tensor"));
  const std::string late = R"("a":{"dtype":"U8","shape":[4],"data_offsets":[2,6]})";
  CHECK(refused_with(file_of(header_with(late), 6), "bytes 0..2 belong to no tensor"));
  CHECK(refused_with(file_of(header_with(t0), 5), "bytes 4..5 at the end belong to no tensor"));
  CHECK(refused_with(file_of("{}", 1), "bytes 0..1 at the end"));
  // Zero-size tensors take no bytes and may sit at any covered boundary.
  const std::string empty = R"("e":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]})";
  CHECK(read_safetensors(file_of(header_with(t0 + "," + empty), 4), "ok").tensors.size() == 2);
}

TEST_CASE("sizes that do not match shape and dtype, or overflow, are refused") {
  const auto entry = [](const std::string& dtype, const std::string& shape,
                        const std::string& offsets) {
    return header_with(R"("t":{"dtype":")" + dtype + R"(","shape":)" + shape +
                       R"(,"data_offsets":)" + offsets + "}");
  };
  CHECK(refused_with(file_of(entry("F32", "[3]", "[0,8]"), 8),
                     "needs 12 bytes, data_offsets give 8"));
  CHECK(refused_with(file_of(entry("U8", "[]", "[0,2]"), 2), "needs 1 bytes"));
  CHECK(refused_with(file_of(entry("U8", "[4294967296,4294967296,2]", "[0,0]"), 0), "overflows"));
  CHECK(refused_with(file_of(entry("F32", "[4611686018427387904]", "[0,0]"), 0), "overflows"));
  CHECK(refused_with(file_of(entry("F32", "[1]", "[4,0]"), 4), "end before they begin"));
  // Every dtype's size, via a one-element tensor of the right byte count.
  for (const char* name : {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
                           "I32", "U32", "F32", "F64", "I64", "U64"}) {
    const auto dtype = parse_dtype(name);
    REQUIRE(dtype);
    CHECK(dtype_name(*dtype) == name);
    const std::string n = std::to_string(dtype_size(*dtype));
    CHECK(read_safetensors(file_of(entry(name, "[1]", "[0," + n + "]"), dtype_size(*dtype)), "ok")
              .tensors[0]
              .dtype == *dtype);
  }
}

TEST_CASE("unknown dtypes, bad shapes and malformed entries are refused") {
  const auto with = [](const std::string& fields) {
    return file_of(header_with(R"("t":{)" + fields + "}"), 4);
  };
  const std::string shape = R"("shape":[1])", offsets = R"("data_offsets":[0,4])";
  const std::string dtype = R"("dtype":"F32")";
  CHECK(refused_with(with(R"("dtype":"float32",)" + shape + "," + offsets),
                     "unknown dtype \"float32\""));
  CHECK(refused_with(with(R"("dtype":"F4",)" + shape + "," + offsets), "unknown dtype"));
  CHECK(refused_with(with(R"("dtype":"f32",)" + shape + "," + offsets), "unknown dtype"));
  CHECK(refused_with(with(R"("dtype":4,)" + shape + "," + offsets), "dtype must be a string"));
  CHECK(
      refused_with(with(dtype + R"(,"shape":[-1],)" + offsets), "non-negative integer, found -1"));
  CHECK(refused_with(with(dtype + R"(,"shape":[1.5],)" + offsets), "found 1.5"));
  CHECK(refused_with(with(dtype + R"(,"shape":[1.0],)" + offsets), "found 1.0"));
  CHECK(refused_with(with(dtype + R"(,"shape":[1e0],)" + offsets), "found 1e0"));
  CHECK(refused_with(with(dtype + R"(,"shape":["1"],)" + offsets), "found string"));
  CHECK(refused_with(with(dtype + R"(,"shape":1,)" + offsets), "shape must be an array"));
  CHECK(refused_with(with(dtype + "," + shape + R"(,"data_offsets":[0])"), "[begin, end]"));
  CHECK(refused_with(with(dtype + "," + shape + R"(,"data_offsets":[0,4,4])"), "[begin, end]"));
  CHECK(refused_with(with(dtype + "," + shape + R"(,"data_offsets":[-1,4])"), "non-negative"));
  CHECK(refused_with(with(shape + "," + offsets), "missing field \"dtype\""));
  CHECK(refused_with(with(dtype + "," + offsets), "missing field \"shape\""));
  CHECK(refused_with(with(dtype + "," + shape), "missing field \"data_offsets\""));
  CHECK(refused_with(with(dtype + "," + shape + "," + offsets + R"(,"extra":1)"),
                     "unexpected field \"extra\""));
  CHECK(refused_with(with(dtype + "," + shape + "," + offsets + "," + dtype),
                     "duplicate key \"dtype\""));
  CHECK(refused_with(file_of(R"({"t":[1]})", 0), "tensor \"t\": expected an object"));
}

TEST_CASE("metadata must be an object of strings; duplicate tensor names are refused") {
  CHECK(read_safetensors(file_of(R"({"__metadata__":{"k":"v"}})", 0), "ok").metadata.at("k") ==
        "v");
  CHECK(refused_with(file_of(R"({"__metadata__":{"k":1}})", 0), "must be a string, found number"));
  CHECK(refused_with(file_of(R"({"__metadata__":["k"]})", 0), "__metadata__ must be an object"));
  const std::string t = R"("t":{"dtype":"U8","shape":[0],"data_offsets":[0,0]})";
  CHECK(refused_with(file_of(header_with(t + "," + t), 0), "duplicate key \"t\""));
}

TEST_CASE("looks_like_safetensors checks the size field and the opening brace") {
  CHECK(looks_like_safetensors(write_safetensors({}, {})));
  CHECK_FALSE(looks_like_safetensors(file_of("[]", 0)));
  CHECK_FALSE(looks_like_safetensors(file_of("{}", {}, 3)));
  const std::string magic = "TINYQMDL\x01\0\0\0";
  CHECK_FALSE(looks_like_safetensors(Bytes(magic.begin(), magic.end())));
  CHECK_FALSE(looks_like_safetensors(Bytes{2, 0, 0}));
}

TEST_CASE("f32_values refuses another dtype") {
  const Bytes four(4);
  CHECK_THROWS_WITH_AS(f32_values({"codes", Dtype::u8, {4}, four}),
                       doctest::Contains("tensor \"codes\": expected dtype F32, found U8"), Error);
}

TEST_CASE("random damage to a valid file yields a file or a tinyq::Error, nothing else") {
  const Bytes f32 = f32_bytes(std::vector<float>{1, 2, 3, 4, 5, 6});
  const Bytes u8{9, 8, 7};
  const std::vector<SafetensorsTensor> tensors{{"0.weight", Dtype::f32, {2, 3}, f32},
                                               {"0.codes", Dtype::u8, {3}, u8}};
  const Bytes good = write_safetensors(tensors, {{"format", "pt"}});
  Rng rng(17);
  int refused = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    Bytes bytes = good;
    for (auto flips = 1 + rng.below(3); flips > 0; --flips)
      bytes[rng.below(bytes.size())] = static_cast<std::uint8_t>(rng.below(256));
    if (trial % 4 == 0) bytes.resize(rng.below(bytes.size() + 1));
    try {
      const SafetensorsFile file = read_safetensors(bytes, "damaged");
      for (const auto& t : file.tensors) {  // views must lie inside the buffer
        CHECK(t.bytes.data() >= bytes.data());
        CHECK(t.bytes.data() + t.bytes.size() <= bytes.data() + bytes.size());
      }
    } catch (const Error&) {
      ++refused;
    }
  }
  CHECK(refused > 2500);
}
