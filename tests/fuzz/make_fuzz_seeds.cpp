// Writes the seed corpora of the fuzz targets, made by tinyq's own writers:
//
//   <out>/inflate/     raw DEFLATE: stored blocks (from gzip_stored), and fixed
//                      and dynamic Huffman streams (the ones tests/test_inflate uses)
//   <out>/gzip/        those streams wrapped as gzip files
//   <out>/idx/         IDX files of every element type, raw and .gz
//   <out>/model_file/  small float models and their quantized twins
//   <out>/safetensors/ the same models exported as safetensors
//
// usage: make_fuzz_seeds <out folder> [stamp file to touch when done]
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "data/gzip.hpp"
#include "data/idx.hpp"
#include "data/inflate.hpp"
#include "nn/model_file.hpp"
#include "nn/model_safetensors.hpp"
#include "nn/sequential.hpp"
#include "quant/quantize_model.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

void save(const fs::path& folder, const std::string& name, std::span<const std::uint8_t> bytes) {
  fs::create_directories(folder);
  std::ofstream out(folder / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw tinyq::Error((folder / name).string() + ": cannot write");
}

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// zlib output for "abcabcabc hello hello" style text, as in tests/test_inflate.cpp.
const Bytes fixed_stream = {0x4b, 0x4c, 0x4a, 0x4e, 0x84, 0x21, 0x85, 0x8c,
                            0xd4, 0x9c, 0x9c, 0x7c, 0x08, 0x09, 0x00};
const Bytes xyz_stream = {0xab, 0xa8, 0xac, 0xaa, 0x18, 0x08, 0xa4, 0x08, 0x00};
const Bytes dynamic_stream = {
    0xd5, 0x8d, 0xd9, 0x15, 0x40, 0x30, 0x14, 0x05, 0x5b, 0xb9, 0x1a, 0x70, 0xec, 0x4b, 0x17, 0x3e,
    0x34, 0x10, 0x04, 0xb1, 0x3d, 0x42, 0x82, 0x54, 0xef, 0xb5, 0xe1, 0x7b, 0x66, 0xce, 0xd4, 0xa3,
    0xc4, 0x61, 0x54, 0x3b, 0xa3, 0xd1, 0x74, 0x6f, 0xe8, 0xe9, 0xc1, 0x64, 0xd6, 0xfd, 0x04, 0x59,
    0xa9, 0x71, 0x31, 0x5e, 0x84, 0x7b, 0xd1, 0xd1, 0xe0, 0xa3, 0x12, 0xec, 0xad, 0x2f, 0x1a, 0x96,
    0x6e, 0x75, 0x8d, 0xe8, 0x95, 0x95, 0x8c, 0x9c, 0xdc, 0xb0, 0xa8, 0xc3, 0x90, 0xe6, 0x76, 0x38,
    0x3d, 0x04, 0x61, 0x14, 0x27, 0x69, 0x96, 0x17, 0x25, 0xea, 0xdf, 0x0f, 0x3e};

void put_le32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A gzip member around a DEFLATE stream; the trailer comes from decoding it.
// flags adds an FNAME field (8) to exercise the optional header fields.
Bytes gzip_around(const Bytes& deflate, bool with_name) {
  const Bytes plain = tinyq::inflate(deflate, 1 << 20);
  Bytes out = {0x1f, 0x8b, 8, static_cast<std::uint8_t>(with_name ? 8 : 0), 0, 0, 0, 0, 0, 3};
  if (with_name) {
    for (char c : std::string("seed.idx")) out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(0);
  }
  out.insert(out.end(), deflate.begin(), deflate.end());
  put_le32(out, tinyq::crc32(plain));
  put_le32(out, static_cast<std::uint32_t>(plain.size()));
  return out;
}

// The DEFLATE stream inside a single-member gzip file with a plain header.
Bytes deflate_inside(const Bytes& gz) {
  return Bytes(gz.begin() + 10, gz.end() - 8);
}

Bytes pattern(std::size_t n, unsigned step) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i * step);
  return out;
}

void make_deflate_and_gzip(const fs::path& out) {
  const std::vector<std::pair<std::string, Bytes>> streams = {
      {"fixed", fixed_stream},
      {"xyz", xyz_stream},
      {"dynamic", dynamic_stream},
      {"stored", deflate_inside(tinyq::gzip_stored(text("hello, stored")))},
      {"empty", deflate_inside(tinyq::gzip_stored({}))},
  };
  for (const auto& [name, stream] : streams) {
    save(out / "inflate", name + ".deflate", stream);
    save(out / "gzip", name + ".gz", gzip_around(stream, false));
  }
  save(out / "gzip", "named.gz", gzip_around(fixed_stream, true));
  save(out / "gzip", "pattern.gz", tinyq::gzip_stored(pattern(300, 7)));
}

void make_idx(const fs::path& out) {
  using tinyq::IdxType;
  struct Seed {
    std::string name;
    IdxType type;
    std::vector<std::size_t> dims;
  };
  const std::vector<Seed> seeds = {
      {"labels", IdxType::u8, {6}},
      {"images", IdxType::u8, {2, 4, 3}},
      {"sbyte", IdxType::i8, {5}},
      {"short", IdxType::i16, {2, 3}},
      {"int", IdxType::i32, {3}},
      {"float", IdxType::f32, {2, 2}},
      {"double", IdxType::f64, {1, 1, 1, 2}},
      {"empty", IdxType::u8, {0}},
  };
  for (const auto& seed : seeds) {
    std::size_t bytes = tinyq::idx_element_size(seed.type);
    for (std::size_t d : seed.dims) bytes *= d;
    const Bytes file = tinyq::write_idx(seed.type, seed.dims, pattern(bytes, 37));
    save(out / "idx", seed.name + ".idx", file);
    save(out / "idx", seed.name + ".idx.gz", tinyq::gzip_stored(file));
  }
}

void make_models(const fs::path& out) {
  using tinyq::Granularity;
  using tinyq::Scheme;
  const tinyq::Sequential small = tinyq::make_mlp(4, {3}, 2, 1);
  const tinyq::Sequential wide = tinyq::make_mlp(32, {16}, 4, 2);
  save(out / "model_file", "float_small.tqm", tinyq::serialize_model(small));
  save(out / "model_file", "float_wide.tqm", tinyq::serialize_model(wide));
  save(out / "safetensors", "float_small.safetensors", tinyq::model_to_safetensors(small));
  const std::vector<std::pair<std::string, tinyq::QuantConfig>> configs = {
      {"asym_tensor8", {.format = {Scheme::asymmetric, Granularity::tensor, 8, 64}}},
      {"sym_channel4", {.format = {Scheme::symmetric, Granularity::channel, 4, 64}}},
      {"asym_group16_3", {.format = {Scheme::asymmetric, Granularity::group, 3, 16}}},
      {"sym_tensor2_keep",
       {.format = {Scheme::symmetric, Granularity::tensor, 2, 64}, .keep_float = {2}}},
  };
  for (const auto& [name, config] : configs) {
    const tinyq::Sequential quantized = tinyq::quantize_model(wide, config);
    save(out / "model_file", name + ".tqm", tinyq::serialize_model(quantized));
    save(out / "safetensors", name + ".safetensors", tinyq::model_to_safetensors(quantized));
    if (config.format.granularity != Granularity::group)
      save(out / "model_file", name + "_small.tqm",
           tinyq::serialize_model(tinyq::quantize_model(small, config)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: make_fuzz_seeds <out folder> [stamp file]\n";
    return 2;
  }
  try {
    const fs::path out = argv[1];
    make_deflate_and_gzip(out);
    make_idx(out);
    make_models(out);
    if (argc == 3) save(fs::path(argv[2]).parent_path(), fs::path(argv[2]).filename(), {});
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
