// Reading and writing .tqm model files (the format is in model_file.hpp).
//
// Loading runs in two passes. The first walks only the framing (magic,
// version, kind tags, payload lengths) so truncation and trailing bytes get
// a precise message, then checks the CRC. Only then does the second pass
// hand each payload to its layer's loader: loaders never see bytes the
// checksum has not vouched for.
#include "nn/model_file.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"

namespace tinyq {

namespace {

constexpr std::array<std::uint8_t, 8> magic = {'T', 'I', 'N', 'Y', 'Q', 'M', 'D', 'L'};
constexpr std::uint32_t version = 1;
constexpr std::size_t checksum_bytes = 4;
constexpr std::size_t max_kind_length = 64;
// A model file larger than this is refused before it is read.
constexpr std::uint64_t max_file_bytes = std::uint64_t{1} << 30;

struct LayerRecord {
  std::string kind;
  std::size_t payload_offset;
  std::size_t payload_bytes;
};

// Pass 1: the framing, up to and including the checksum.
std::vector<LayerRecord> read_framing(std::span<const std::uint8_t> bytes,
                                      const std::string& source) {
  BinaryReader in(bytes, source);
  const auto found_magic = in.raw(std::min(magic.size(), in.remaining()));
  if (found_magic.size() < magic.size() ||
      std::memcmp(found_magic.data(), magic.data(), magic.size()) != 0)
    throw Error(source + ": not a tinyq model file (expected magic \"TINYQMDL\")");
  const std::uint32_t found_version = in.u32();
  if (found_version != version)
    throw Error(source + ": unknown model file version " + std::to_string(found_version) +
                ", expected " + std::to_string(version));
  const std::uint32_t count = in.u32();
  if (count == 0) in.fail("model has zero layers");
  // Each layer takes at least 12 bytes (empty kind, length): bounds the reserve.
  if (count > in.remaining() / 12)
    in.fail("truncated: " + std::to_string(count) + " layers cannot fit in " +
            std::to_string(in.remaining()) + " bytes");

  std::vector<LayerRecord> records;
  records.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string kind = in.string(max_kind_length);
    // Tags end up in error messages, which must stay one printable line.
    const auto printable = [](char c) { return c > ' ' && c <= '~'; };
    if (!std::all_of(kind.begin(), kind.end(), printable))
      in.fail("layer " + std::to_string(i) + " kind tag is not printable ASCII");
    const std::uint64_t length = in.u64();
    if (length > in.remaining())
      in.fail("truncated: layer " + std::to_string(i) + " (" + kind + ") declares " +
              std::to_string(length) + " payload bytes, " + std::to_string(in.remaining()) +
              " remain");
    records.push_back({std::move(kind), in.offset(), static_cast<std::size_t>(length)});
    in.raw(static_cast<std::size_t>(length));
  }

  if (in.remaining() < checksum_bytes) in.fail("truncated: missing the 4-byte checksum");
  if (in.remaining() > checksum_bytes)
    in.fail(std::to_string(in.remaining() - checksum_bytes) + " trailing bytes after the layers");
  const std::size_t body = in.offset();
  const std::uint32_t stored = in.u32();
  const std::uint32_t computed = crc32(bytes.first(body));
  if (stored != computed)
    throw Error(source + ": checksum mismatch (stored " + std::to_string(stored) + ", computed " +
                std::to_string(computed) + "): the file is corrupted");
  return records;
}

}  // namespace

void LayerRegistry::add(const std::string& kind, LayerLoader loader) {
  loaders_[kind] = std::move(loader);
}

std::unique_ptr<Layer> LayerRegistry::load(const std::string& kind, BinaryReader& payload) const {
  const auto it = loaders_.find(kind);
  if (it == loaders_.end()) {
    std::string known;
    for (const auto& [name, loader] : loaders_) known += (known.empty() ? "" : ", ") + name;
    throw Error(payload.source() + ": unknown layer kind \"" + kind + "\" (known: " + known + ")");
  }
  return it->second(payload);
}

LayerRegistry float_layers() {
  LayerRegistry registry;
  registry.add("dense", Dense::load);
  registry.add("relu", Relu::load);
  return registry;
}

std::vector<std::uint8_t> serialize_model(const Sequential& model) {
  if (model.size() == 0) throw Error("cannot save a model with no layers");
  BinaryWriter out;
  out.raw(magic);
  out.u32(version);
  out.u32(static_cast<std::uint32_t>(model.size()));
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    if (layer.kind().size() > max_kind_length)
      throw Error("layer " + std::to_string(i) + ": kind tag \"" + layer.kind() +
                  "\" is longer than " + std::to_string(max_kind_length) + " bytes");
    BinaryWriter payload;
    layer.save(payload);
    out.string(layer.kind());
    out.u64(payload.bytes().size());
    out.raw(payload.bytes());
  }
  out.u32(crc32(out.bytes()));
  return std::move(out.bytes());
}

Sequential deserialize_model(std::span<const std::uint8_t> bytes, const std::string& source,
                             const LayerRegistry& registry) {
  const std::vector<LayerRecord> records = read_framing(bytes, source);
  Sequential model;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const LayerRecord& record = records[i];
    const std::string where = source + ": layer " + std::to_string(i) + " (" + record.kind + ")";
    BinaryReader payload(bytes.subspan(record.payload_offset, record.payload_bytes), where,
                         record.payload_offset);
    std::unique_ptr<Layer> layer = registry.load(record.kind, payload);
    if (payload.remaining() != 0)
      payload.fail("payload is " + std::to_string(record.payload_bytes) + " bytes, the " +
                   record.kind + " loader used " + std::to_string(payload.offset()));
    try {
      model.add(std::move(layer));
    } catch (const Error& e) {
      throw Error(source + ": " + e.what());
    }
  }
  return model;
}

void save_model(const Sequential& model, const std::filesystem::path& path) {
  write_file_atomically(path, serialize_model(model));
}

Sequential load_model(const std::filesystem::path& path, const LayerRegistry& registry) {
  const std::vector<std::uint8_t> bytes = read_file(path, max_file_bytes);
  return deserialize_model(bytes, path.string(), registry);
}

}  // namespace tinyq
