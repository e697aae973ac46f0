// StaticInt8Network: checks the chain of layers, then runs it block by block.
#include "quant/static_int8/static_network.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/aligned_allocator.hpp"
#include "core/error.hpp"
#include "core/kernels/int8_gemm.hpp"
#include "core/thread_pool.hpp"

namespace tinyq {

namespace {

// Rows per block: the widest code buffer (48 × 784 bytes) and the sums
// (48 × 256 × 4 bytes) stay in L2 while the kernels sweep the weights.
constexpr std::size_t rows_per_block = 48;

// The kernels read whole 4-byte groups: copies `rows` pixel rows of width
// `in` into `out` (row stride `stride`), zero-filled up to `padded`.
void pad_pixel_rows(const std::uint8_t* pixels, std::size_t rows, std::size_t in,
                    std::size_t padded, std::uint8_t* out, std::size_t stride) {
  for (std::size_t r = 0; r < rows; ++r) {
    std::uint8_t* row = out + r * stride;
    std::copy(pixels + r * in, pixels + (r + 1) * in, row);
    std::fill(row + in, row + padded, std::uint8_t{0});
  }
}

}  // namespace

StaticInt8Network::StaticInt8Network(const Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Layer& layer = model.layer(i);
    const std::string where =
        "static int8 model: layer " + std::to_string(i) + " (" + layer.describe() + ")";
    if (layer.kind() == "relu") {
      if (layers_.empty() || !layers_.back().params().relu)
        throw Error(where +
                    ": a ReLU must follow a static int8 layer that clamps at its zero "
                    "point");
      continue;
    }
    const auto* dense = dynamic_cast<const StaticInt8Dense*>(&layer);
    if (dense == nullptr) throw Error(where + ": not a static int8 layer");
    const U8Quantization expected =
        layers_.empty() ? pixel_quantization : layers_.back().params().output;
    if (!layers_.empty() && layers_.back().params().scores)
      throw Error(where + ": follows the score layer");
    if (dense->params().input != expected)
      throw Error(where + ": reads codes of scale " + std::to_string(dense->params().input.scale) +
                  " and zero point " + std::to_string(dense->params().input.zero_point) +
                  ", but its input has scale " + std::to_string(expected.scale) +
                  " and zero point " + std::to_string(expected.zero_point));
    layers_.push_back(*dense);
  }
  if (layers_.empty()) throw Error("static int8 model: no static int8 layer");
  if (!layers_.back().params().scores)
    throw Error("static int8 model: the last layer must give int32 scores");
}

void StaticInt8Network::scores(Isa isa, std::span<const std::uint8_t> pixels,
                               std::span<std::int32_t> scores) const {
  const std::size_t in = inputs(), out = outputs();
  if (pixels.size() % in != 0 || scores.size() != pixels.size() / in * out)
    throw Error("static int8 model: expected pixels [n, " + std::to_string(in) +
                "] and scores [n, " + std::to_string(out) + "], found " +
                std::to_string(pixels.size()) + " pixels and " + std::to_string(scores.size()) +
                " scores");
  const std::size_t n = pixels.size() / in;
  std::size_t widest = 0, widest_out = 0;
  for (const StaticInt8Dense& layer : layers_) {
    widest = std::max(widest, layer.padded_inputs());
    widest_out = std::max(widest_out, layer.params().out);
  }
  if (n < 2 * num_threads()) {
    small_batch_scores(isa, n, pixels.data(), scores.data(), widest, widest_out);
    return;
  }
  widest = int8_row_stride(isa, widest);
  const auto body = [&](std::size_t row_begin, std::size_t row_end) {
    // Two code buffers, each layer reading one and writing the other; the
    // kernel reads whole 4-byte groups, so bytes past a row's width are zero.
    thread_local std::vector<std::uint8_t, AlignedAllocator<std::uint8_t, 64>> codes[2];
    thread_local std::vector<std::int32_t> acc;
    // Sized once per thread (a batch-1 call must not clear 75 KB each time);
    // the padding of every row is zeroed below when a row is written.
    for (auto& buffer : codes) buffer.resize(std::max(buffer.size(), rows_per_block * widest));
    acc.resize(std::max(acc.size(), rows_per_block * widest_out));
    for (std::size_t r0 = row_begin; r0 < row_end; r0 += rows_per_block) {
      const std::size_t rows = std::min(rows_per_block, row_end - r0);
      const std::uint8_t* a = pixels.data() + r0 * in;
      std::size_t lda = in;
      if (in % int8_k_group != 0) {
        pad_pixel_rows(a, rows, in, layers_.front().padded_inputs(), codes[0].data(), widest);
        a = codes[0].data();
        lda = widest;
      }
      for (std::size_t l = 0; l + 1 < layers_.size(); ++l) {
        std::uint8_t* next = codes[(l + 1) % 2].data();
        layers_[l].forward_codes(isa, rows, a, lda, acc.data(), next, widest);
        const std::size_t width = layers_[l].params().out;
        for (std::size_t r = 0; r < rows && width % int8_k_group != 0; ++r)  // an earlier wider
          std::fill(next + r * widest + width, next + r * widest + layers_[l + 1].padded_inputs(),
                    std::uint8_t{0});  // layer's codes must not leak into the padding
        a = next;
        lda = widest;
      }
      layers_.back().forward_scores(isa, rows, a, lda, scores.data() + r0 * out);
    }
  };
  // Chunks of 4 blocks claimed one at a time, as DynamicInt8Weights::forward
  // does (whole test set, 2 threads, against one chunk per thread: median
  // time 0.88-0.95 with 8-bit weights, 0.97 with 7-bit ones).
  parallel_for_chunks(n, std::min(4 * rows_per_block, (n + num_threads() - 1) / num_threads()),
                      body);
}

// Too few rows to give every thread a block of its own (batch 1 above all):
// the layers run one after the other, each layer's outputs split between the
// threads by whole panels (one parallel_for, so one barrier, per layer
// large enough to be worth splitting).
// Each output is still one sum of products and one requantization, the
// same integers as in the row-split path whatever the split.
void StaticInt8Network::small_batch_scores(Isa isa, std::size_t n, const std::uint8_t* pixels,
                                           std::int32_t* scores, std::size_t widest,
                                           std::size_t widest_out) const {
  const std::size_t in = inputs();
  thread_local std::vector<std::uint8_t> codes[2];
  thread_local std::vector<std::int32_t> acc;
  for (auto& buffer : codes) buffer.resize(std::max(buffer.size(), n * widest));
  acc.resize(std::max(acc.size(), n * widest_out));
  const std::uint8_t* a = pixels;
  std::size_t lda = in;
  if (in % int8_k_group != 0) {
    pad_pixel_rows(pixels, n, in, layers_.front().padded_inputs(), codes[0].data(), widest);
    a = codes[0].data();
    lda = widest;
  }
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const StaticInt8Dense& layer = layers_[l];
    const std::size_t width = layer.params().out;
    const std::size_t panels = (width + int8_panel_columns - 1) / int8_panel_columns;
    const bool last = l + 1 == layers_.size();
    std::uint8_t* next = codes[(l + 1) % 2].data();
    std::int32_t* sums = acc.data();
    auto panel_range = [&](std::size_t panel_begin, std::size_t panel_end) {
      const std::size_t j_begin = panel_begin * int8_panel_columns;
      const std::size_t j_end = std::min(width, panel_end * int8_panel_columns);
      if (last)
        layer.forward_scores(isa, n, a, lda, j_begin, j_end, scores);
      else
        layer.forward_codes(isa, n, a, lda, j_begin, j_end, sums, next, widest);
    };
    // Below min_products_per_thread (core/thread_pool.hpp) products per
    // thread a layer runs on the calling thread: at batch 1 the whole
    // 784-256-128-10 MLP does, as dynamic int8 does. Batch 1, 2 threads,
    // 2000 test images, 10 alternated rounds, against splitting any layer of
    // 32,768 products per thread or more (which split the 784 -> 256 layer):
    // 0.68 of the time on Fashion-MNIST and 0.58 on MNIST (VNNI, 8-bit
    // weights); 0.87 and 0.80 on the same machine's AVX2 path.
    parallel_for_products(panels, 1, n * layer.padded_inputs() * width, panel_range);
    if (last) break;
    for (std::size_t r = 0; r < n && width % int8_k_group != 0; ++r)  // as in scores()
      std::fill(next + r * widest + width, next + r * widest + layers_[l + 1].padded_inputs(),
                std::uint8_t{0});
    a = next;
    lda = widest;
  }
}

std::vector<std::uint8_t> StaticInt8Network::predict(Isa isa,
                                                     std::span<const std::uint8_t> pixels) const {
  const std::size_t out = outputs();
  std::vector<std::int32_t> all(pixels.size() / inputs() * out);
  scores(isa, pixels, all);
  std::vector<std::uint8_t> classes(all.size() / out);
  for (std::size_t r = 0; r < classes.size(); ++r) {
    const auto* row = all.data() + r * out;
    classes[r] = static_cast<std::uint8_t>(std::max_element(row, row + out) - row);
  }
  return classes;
}

std::vector<std::uint8_t> pixels_of(const Tensor& images) {
  std::vector<std::uint8_t> pixels(images.size());
  const std::span<const float> values = images.values();
  for (std::size_t i = 0; i < pixels.size(); ++i)
    pixels[i] =
        static_cast<std::uint8_t>(std::clamp(std::nearbyint(values[i] * 255.0f), 0.0f, 255.0f));
  return pixels;
}

}  // namespace tinyq
