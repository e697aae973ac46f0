// The integer-only forward pass of a whole static int8 model: u8 pixels in,
// int32 class scores out, nothing in float. Built from a Sequential of
// StaticInt8Dense layers (ReLUs between them are already the layers' clamps
// and are skipped), it hands each block of rows from layer to layer as u8
// codes in buffers that stay in cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/kernels/isa.hpp"
#include "nn/sequential.hpp"
#include "quant/static_int8/static_dense.hpp"

namespace tinyq {

class StaticInt8Network {
 public:
  // Throws tinyq::Error unless `model` is StaticInt8Dense layers (ReLUs
  // allowed after those that clamp at their zero point), chained so each
  // layer reads the codes the one before writes (same scale and zero point),
  // the first reading pixels (scale 1/255, zero point 0) and the last giving
  // scores. The layers are copied (their packed weights are shared).
  explicit StaticInt8Network(const Sequential& model);

  std::size_t inputs() const { return layers_.front().params().in; }
  std::size_t outputs() const { return layers_.back().params().out; }
  const std::vector<StaticInt8Dense>& layers() const { return layers_; }

  // scores [n, outputs] of pixels [n, inputs] (n = pixels.size() / inputs()),
  // on the int8 path `isa`: rows split over the thread pool, or, when n is
  // below twice the thread count (batch 1), each layer's outputs. The same
  // integers either way and for any thread count.
  void scores(Isa isa, std::span<const std::uint8_t> pixels, std::span<std::int32_t> scores) const;
  // Index of the largest score of each row (the first, on a tie).
  std::vector<std::uint8_t> predict(Isa isa, std::span<const std::uint8_t> pixels) const;

 private:
  // scores() for batches smaller than twice the thread count: layer by
  // layer, each layer's outputs split between the threads.
  void small_batch_scores(Isa isa, std::size_t n, const std::uint8_t* pixels, std::int32_t* scores,
                          std::size_t widest, std::size_t widest_out) const;

  std::vector<StaticInt8Dense> layers_;
};

// Pixels as u8 from images holding pixel / 255 (data/mnist.hpp): exact.
std::vector<std::uint8_t> pixels_of(const Tensor& images);

}  // namespace tinyq
