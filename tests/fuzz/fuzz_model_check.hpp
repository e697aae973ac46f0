// What the two model-file fuzz targets (tinyq's own format and safetensors)
// ask of every model that loads: it has layers and it runs. A file can
// describe a model that parses but cannot compute (a width that disagrees
// with the next layer's, a payload too short for its shape); loading must
// refuse those, so a forward pass here is the check that it did.
#pragma once

#include <cstddef>

#include "core/tensor.hpp"
#include "fuzz_check.hpp"
#include "nn/sequential.hpp"

namespace tinyq::fuzz {

inline void require_model_runs(Sequential& model) {
  require(model.size() > 0, "a model with no layers loaded");
  const std::size_t inputs = model.input_features().value_or(3);
  // Widths come from the file, whose weights take at least a bit each, so
  // this stays small; guard anyway to keep the run fast.
  if (inputs > 4096) return;
  Tensor x({2, inputs});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i % 7) * 0.25f - 0.75f;
  const Tensor& y = model.forward(x);
  require(y.rank() == 2 && y.dim(0) == 2, "forward output has the wrong batch size");
  if (const auto outputs = model.output_features())
    require(y.dim(1) == *outputs, "forward output width differs from output_features");
}

}  // namespace tinyq::fuzz
