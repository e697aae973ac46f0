// Quantized models to and from safetensors: tensor and metadata names per layer.
#include "quant/quantized_safetensors.hpp"

#include <charconv>
#include <memory>
#include <set>

#include "core/error.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"
#include "nn/safetensors_mlp.hpp"
#include "quant/quantized_dense.hpp"

namespace tinyq {

namespace {

// Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "-" + std::string.
std::string format_text(const QuantFormat& f) {
  std::string text = to_string(f.scheme);
  text += '/';
  text += to_string(f.granularity);
  if (f.granularity == Granularity::group) {
    text += '-';
    text += std::to_string(f.group_size);
  }
  text += '/';
  text += std::to_string(f.bits);
  return text;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts(1);
  for (const char c : text) {
    if (c == separator)
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

// A decimal number without sign in [min, max], or nullopt.
std::optional<std::size_t> whole(const std::string& text, std::size_t min, std::size_t max) {
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < min ||
      value > max)
    return std::nullopt;
  return value;
}

// Reads tensors by name, checking dtype and shape, and remembers which were
// used so that leftovers can be refused.
class TensorTaker {
 public:
  TensorTaker(const SafetensorsFile& file, std::string where)
      : file_(file), where_(std::move(where)) {}

  const SafetensorsTensor& take(const std::string& name, Dtype dtype,
                                const std::vector<std::uint64_t>& shape) {
    const SafetensorsTensor* t = file_.find(name);
    if (!t) throw Error(where_ + "missing tensor \"" + name + "\"");
    if (t->dtype != dtype || t->shape != shape)
      throw Error(where_ + "tensor \"" + name + "\": expected " + describe(dtype, shape) +
                  ", found " + describe(t->dtype, t->shape));
    taken_.insert(name);
    return *t;
  }

  void require_all_taken() const {
    for (const auto& t : file_.tensors)
      if (!taken_.count(t.name)) throw Error(where_ + "unexpected tensor \"" + t.name + "\"");
  }

 private:
  static std::string describe(Dtype dtype, const std::vector<std::uint64_t>& shape) {
    return std::string(dtype_name(dtype)) + " " + shape_to_string(shape);
  }

  const SafetensorsFile& file_;
  std::string where_;
  std::set<std::string> taken_;
};

Tensor tensor_of(const SafetensorsTensor& t, const Shape& shape) {
  const auto values = f32_values(t);
  return Tensor(shape, values);
}

}  // namespace

std::vector<std::uint8_t> quantized_safetensors_from_sequential(const Sequential& model) {
  if (model.size() == 0) throw Error("safetensors export: the model has no layers");
  std::vector<std::vector<std::uint8_t>> buffers;  // the bytes the tensors view
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata{{"tinyq.format", quantized_safetensors_format}};
  std::string kinds;
  auto add = [&](std::string name, Dtype dtype, std::vector<std::uint64_t> shape,
                 std::vector<std::uint8_t> bytes) {
    buffers.push_back(std::move(bytes));
    tensors.push_back({std::move(name), dtype, std::move(shape), buffers.back()});
  };
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    const std::string prefix = std::to_string(i) + ".";
    if (!kinds.empty()) kinds += ',';
    kinds += layer.kind();
    if (const auto* q = dynamic_cast<const QuantizedDense*>(&layer)) {
      const QuantizedMatrix& w = q->weight();
      add(prefix + "weight.codes", Dtype::u8, {w.rows, w.row_bytes()}, w.codes);
      add(prefix + "weight.scales", Dtype::f32, {w.scales.size()}, f32_bytes(w.scales));
      if (!w.offsets.empty())
        add(prefix + "weight.offsets", Dtype::f32, {w.offsets.size()}, f32_bytes(w.offsets));
      add(prefix + "bias", Dtype::f32, {w.rows}, f32_bytes(q->bias().values()));
      metadata[prefix + "weight.format"] = format_text(w.format);
      metadata[prefix + "weight.shape"] = std::to_string(w.rows) + "," + std::to_string(w.cols);
    } else if (const auto* d = dynamic_cast<const Dense*>(&layer)) {
      add(prefix + "weight", Dtype::f32, {d->outputs(), d->inputs()},
          f32_bytes(d->weight().values()));
      add(prefix + "bias", Dtype::f32, {d->outputs()}, f32_bytes(d->bias().values()));
    } else if (!dynamic_cast<const Relu*>(&layer)) {
      throw Error("safetensors export: layer " + std::to_string(i) + " is " + layer.describe() +
                  "; only Dense, ReLU and QuantizedDense can be exported");
    }
  }
  metadata["tinyq.layers"] = kinds;
  return write_safetensors(tensors, metadata);
}

Sequential sequential_from_quantized_safetensors(const SafetensorsFile& file,
                                                 const std::string& source) {
  const std::string where = source + ": ";
  auto meta = [&](const std::string& key) -> const std::string& {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw Error(where + "missing metadata \"" + key + "\"");
    return it->second;
  };
  if (meta("tinyq.format") != quantized_safetensors_format)
    throw Error(where + "unknown tinyq.format \"" + meta("tinyq.format") + "\" (expected \"" +
                quantized_safetensors_format + "\")");
  const auto kinds = split(meta("tinyq.layers"), ',');
  TensorTaker taker(file, where);
  Sequential model;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    const std::string layer = "layer " + std::to_string(i) + " (" + kinds[i] + "): ";
    std::unique_ptr<Layer> built;
    if (kinds[i] == "relu") {
      built = std::make_unique<Relu>();
    } else if (kinds[i] == "dense") {
      const SafetensorsTensor* w = file.find(prefix + "weight");
      if (!w || w->shape.size() != 2 || w->shape[0] == 0 || w->shape[1] == 0)
        throw Error(where + layer + "expected tensor \"" + prefix + "weight\" [out, in]");
      const std::size_t out = w->shape[0], in = w->shape[1];
      const auto& weight = taker.take(prefix + "weight", Dtype::f32, {out, in});
      const auto& bias = taker.take(prefix + "bias", Dtype::f32, {out});
      auto dense = std::make_unique<Dense>(in, out);
      dense->weight() = tensor_of(weight, {out, in});
      dense->bias() = tensor_of(bias, {out});
      built = std::move(dense);
    } else if (kinds[i] == "quantized_dense") {
      const auto shape = split(meta(prefix + "weight.shape"), ',');
      const auto out = shape.size() == 2 ? whole(shape[0], 1, 1u << 24) : std::nullopt;
      const auto in = shape.size() == 2 ? whole(shape[1], 1, 1u << 24) : std::nullopt;
      if (!out || !in)
        throw Error(where + layer + "weight.shape must be \"out,in\" (each 1 to 2^24), found \"" +
                    meta(prefix + "weight.shape") + "\"");
      const std::string& format_string = meta(prefix + "weight.format");
      const auto fields = split(format_string, '/');
      QuantizedMatrix w;
      try {
        if (fields.size() != 3) throw Error("expected scheme/granularity/bits");
        w.format.scheme = parse_scheme(fields[0]);
        const std::string& g = fields[1];
        const bool group = g.rfind("group-", 0) == 0;
        if (g == "group") throw Error("group granularity needs its size, as in group-64");
        w.format.granularity = parse_granularity(group ? "group" : g);
        const auto size = group ? whole(g.substr(6), 1, 1u << 20) : std::optional<std::size_t>(0);
        const auto bits = whole(fields[2], 1, 64);
        if (!size || !bits) throw Error("bad group size or bit width");
        w.format.group_size = group ? *size : 0;
        w.format.bits = static_cast<int>(*bits);
        validate(w.format);
      } catch (const Error& e) {
        throw Error(where + layer + "weight.format \"" + format_string + "\": " + e.what());
      }
      w.rows = *out;
      w.cols = *in;
      const auto& codes = taker.take(prefix + "weight.codes", Dtype::u8, {*out, w.row_bytes()});
      w.codes.assign(codes.bytes.begin(), codes.bytes.end());
      w.scales = f32_values(taker.take(prefix + "weight.scales", Dtype::f32, {w.block_count()}));
      if (w.format.scheme == Scheme::asymmetric)
        w.offsets =
            f32_values(taker.take(prefix + "weight.offsets", Dtype::f32, {w.block_count()}));
      Tensor bias = tensor_of(taker.take(prefix + "bias", Dtype::f32, {*out}), {*out});
      try {
        built = std::make_unique<QuantizedDense>(std::move(w), std::move(bias));
      } catch (const Error& e) {
        throw Error(where + layer + e.what());
      }
    } else {
      throw Error(where + "layer " + std::to_string(i) + ": unknown kind \"" + kinds[i] +
                  "\" (expected dense, relu or quantized_dense)");
    }
    try {
      model.add(std::move(built));
    } catch (const Error& e) {
      throw Error(where + layer + e.what());
    }
  }
  taker.require_all_taken();
  return model;
}

Sequential sequential_from_any_safetensors(const SafetensorsFile& file, const std::string& source) {
  if (file.metadata.count("tinyq.format"))
    return sequential_from_quantized_safetensors(file, source);
  return sequential_from_safetensors(file, source);
}

}  // namespace tinyq
