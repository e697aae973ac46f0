// Reading and writing .tqm model files (the format is in model_file.hpp).
//
// Loading runs in two passes. The first walks only the framing (magic,
// version, kind tags, payload lengths) so truncation and trailing bytes get
// a precise message, then checks the CRC. Only then does the second pass
// turn each payload into a state dict and hand it to the registry: layers
// never see bytes the checksum has not vouched for.
#include "nn/model_file.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/error.hpp"
#include "core/io/crc32.hpp"
#include "core/io/file_io.hpp"
#include "core/io/safetensors.hpp"
#include "nn/model_safetensors.hpp"

namespace tinyq {

namespace {

constexpr std::array<std::uint8_t, 8> magic = {'T', 'I', 'N', 'Y', 'Q', 'M', 'D', 'L'};
constexpr std::uint32_t oldest_version = 1;
constexpr std::size_t checksum_bytes = 4;
constexpr std::size_t max_kind_length = 64;
// A model file larger than this is refused before it is read.
constexpr std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
// State dict limits (see model_file.hpp).
constexpr std::size_t max_entries = 64;
constexpr std::size_t max_name_length = 64;
constexpr std::size_t max_value_length = 4096;
constexpr std::size_t max_rank = 4;

bool printable(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

struct LayerRecord {
  std::string kind;
  std::size_t payload_offset;
  std::size_t payload_bytes;
};

// Pass 1: the framing, up to and including the checksum.
std::vector<LayerRecord> read_framing(std::span<const std::uint8_t> bytes,
                                      const std::string& source, std::uint32_t& file_version) {
  BinaryReader in(bytes, source);
  const auto found_magic = in.raw(std::min(magic.size(), in.remaining()));
  if (found_magic.size() < magic.size() ||
      std::memcmp(found_magic.data(), magic.data(), magic.size()) != 0)
    throw Error(source + ": not a tinyq model file (expected magic \"TINYQMDL\")");
  const std::uint32_t found_version = in.u32();
  if (found_version < oldest_version || found_version > model_file_version)
    throw Error(source + ": unknown model file version " + std::to_string(found_version) +
                ", expected " + std::to_string(oldest_version) + " to " +
                std::to_string(model_file_version));
  file_version = found_version;
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

void write_state(const StateDict& state, const std::string& where, BinaryWriter& out) {
  auto check = [&](const std::string& text, std::size_t max_length, const char* what) {
    if (text.size() > max_length || !printable(text))
      throw Error(where + ": " + what + " \"" + text + "\" is not printable ASCII of at most " +
                  std::to_string(max_length) + " bytes");
  };
  if (state.attributes.size() > max_entries || state.tensors.size() > max_entries)
    throw Error(where + ": more than " + std::to_string(max_entries) + " tensors or attributes");
  out.u32(static_cast<std::uint32_t>(state.attributes.size()));
  for (const auto& [key, value] : state.attributes) {
    check(key, max_name_length, "attribute name");
    check(value, max_value_length, "attribute value");
    out.string(key);
    out.string(value);
  }
  out.u32(static_cast<std::uint32_t>(state.tensors.size()));
  for (const auto& [name, tensor] : state.tensors) {
    check(name, max_name_length, "tensor name");
    if (tensor.shape.size() > max_rank)
      throw Error(where + ": tensor \"" + name + "\" has rank above " + std::to_string(max_rank));
    if (tensor.bytes.size() != tensor.element_count() * dtype_size(tensor.dtype))
      throw Error(where + ": tensor \"" + name + "\" holds " + std::to_string(tensor.bytes.size()) +
                  " bytes, its shape and dtype need " +
                  std::to_string(tensor.element_count() * dtype_size(tensor.dtype)));
    out.string(name);
    out.string(std::string(dtype_name(tensor.dtype)));
    out.u8(static_cast<std::uint8_t>(tensor.shape.size()));
    for (const std::uint64_t extent : tensor.shape) out.u64(extent);
    out.raw(tensor.bytes);
  }
}

StateDict read_state(BinaryReader& in) {
  StateDict state;
  auto text = [&](std::size_t max_length, const char* what) {
    std::string value = in.string(max_length);
    if (!printable(value)) in.fail(std::string(what) + " is not printable ASCII");
    return value;
  };
  const std::uint32_t attributes = in.u32();
  if (attributes > max_entries)
    in.fail(std::to_string(attributes) + " attributes, at most " + std::to_string(max_entries));
  for (std::uint32_t i = 0; i < attributes; ++i) {
    std::string key = text(max_name_length, "attribute name");
    std::string value = text(max_value_length, "attribute value");
    if (!state.attributes.emplace(key, std::move(value)).second)
      in.fail("attribute \"" + key + "\" appears twice");
  }
  const std::uint32_t tensors = in.u32();
  if (tensors > max_entries)
    in.fail(std::to_string(tensors) + " tensors, at most " + std::to_string(max_entries));
  for (std::uint32_t i = 0; i < tensors; ++i) {
    std::string name = text(max_name_length, "tensor name");
    if (state.find(name)) in.fail("tensor \"" + name + "\" appears twice");
    const std::string dtype_text = in.string(16);
    const auto dtype = parse_dtype(dtype_text);
    if (!dtype)
      in.fail("tensor \"" + name + "\": unknown dtype \"" +
              (printable(dtype_text) ? dtype_text : "?") + "\" (expected one of " +
              known_dtype_names() + ")");
    const std::uint8_t rank = in.u8();
    if (rank > max_rank)
      in.fail("tensor \"" + name + "\": rank " + std::to_string(rank) + ", at most " +
              std::to_string(max_rank));
    std::vector<std::uint64_t> shape(rank);
    for (auto& extent : shape) extent = in.u64();
    const auto bytes = tensor_byte_count(*dtype, shape);
    if (!bytes || *bytes > in.remaining())
      in.fail("tensor \"" + name + "\" " + shape_to_string(shape) + " needs more than the " +
              std::to_string(in.remaining()) + " bytes that remain");
    const auto data = in.raw(static_cast<std::size_t>(*bytes));
    state.add(std::move(name), {*dtype, std::move(shape), {data.begin(), data.end()}});
  }
  return state;
}

}  // namespace

bool looks_like_tinyq_model(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

std::vector<std::uint8_t> serialize_model(const Sequential& model) {
  if (model.size() == 0) throw Error("cannot save a model with no layers");
  BinaryWriter out;
  out.raw(magic);
  out.u32(model_file_version);
  out.u32(static_cast<std::uint32_t>(model.size()));
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    if (layer.kind().size() > max_kind_length)
      throw Error("layer " + std::to_string(i) + ": kind tag \"" + layer.kind() +
                  "\" is longer than " + std::to_string(max_kind_length) + " bytes");
    BinaryWriter payload;
    write_state(layer.state(), "layer " + std::to_string(i) + " (" + layer.kind() + ")", payload);
    out.string(layer.kind());
    out.u64(payload.bytes().size());
    out.raw(payload.bytes());
  }
  out.u32(crc32(out.bytes()));
  return std::move(out.bytes());
}

Sequential deserialize_model(std::span<const std::uint8_t> bytes, const std::string& source,
                             const LayerRegistry& registry) {
  std::uint32_t file_version = 0;
  const std::vector<LayerRecord> records = read_framing(bytes, source, file_version);
  Sequential model;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const LayerRecord& record = records[i];
    const std::string where = source + ": layer " + std::to_string(i) + " (" + record.kind + ")";
    BinaryReader payload(bytes.subspan(record.payload_offset, record.payload_bytes), where,
                         record.payload_offset);
    const LayerKind& kind = registry.find(record.kind, where);
    if (file_version == 1 && !kind.read_v1_payload)
      throw Error(where + ": this kind did not exist in model file version 1");
    const StateDict state = file_version == 1 ? kind.read_v1_payload(payload) : read_state(payload);
    if (payload.remaining() != 0)
      payload.fail("payload is " + std::to_string(record.payload_bytes) + " bytes, its contents " +
                   "end after " + std::to_string(payload.offset()));
    std::unique_ptr<Layer> layer = registry.build(record.kind, state, where);
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
  const std::string source = path.string();
  if (looks_like_tinyq_model(bytes)) return deserialize_model(bytes, source, registry);
  if (looks_like_safetensors(bytes))
    return model_from_safetensors(read_safetensors(bytes, source), source, registry);
  throw Error(source +
              ": not a model file (expected a tinyq model starting with \"TINYQMDL\" or a "
              "safetensors file: an 8-byte header size followed by '{')");
}

}  // namespace tinyq
