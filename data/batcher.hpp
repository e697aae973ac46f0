// Shuffled minibatches over a Dataset, for stochastic gradient descent.
//
// Each epoch visits every sample exactly once, in an order drawn with
// Fisher-Yates from tinyq::Rng. Epoch e's order depends only on the seed and
// e (the generator is reseeded from both), so a run can be reproduced, or
// resumed at any epoch, from the seed alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"
#include "data/mnist.hpp"

namespace tinyq {

class Batcher {
 public:
  // The dataset must outlive the Batcher. batch_size must be positive.
  // With drop_last, a final batch smaller than batch_size is skipped.
  Batcher(const Dataset& data, std::size_t batch_size, std::uint64_t seed, bool drop_last = false);

  // Shuffles for the next epoch (the first call starts epoch 0).
  void start_epoch();
  // Gathers the next batch into images [b, features] (as floats, see
  // Dataset) and labels [b], reusing
  // their storage. Returns false, leaving them untouched, when the epoch is
  // done. Calls start_epoch() itself if no epoch was started.
  bool next(Tensor& images, std::vector<std::uint8_t>& labels);

  std::size_t batches_per_epoch() const;
  std::size_t epoch() const { return epoch_; }                      // the current epoch (0-based)
  const std::vector<std::size_t>& order() const { return order_; }  // this epoch's sample order

 private:
  const Dataset& data_;
  std::size_t batch_size_;
  std::uint64_t seed_;
  bool drop_last_;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;  // next index into order_
  std::size_t epoch_ = 0;
  bool started_ = false;
};

}  // namespace tinyq
