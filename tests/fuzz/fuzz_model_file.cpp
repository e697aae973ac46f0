// libFuzzer target: tinyq model files, float and quantized (nn/model_file,
// quant/quantized_dense), loaded with every registered layer kind.
//
// Every input must load or throw tinyq::Error, without allocating more than
// the file could describe. A model that loads must also work: a forward pass
// on a small batch gives finite-sized output of the declared width, and the
// model saves to bytes that load again.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "fuzz_check.hpp"
#include "fuzz_model_check.hpp"
#include "nn/model_file.hpp"
#include "quant/registry.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tinyq::set_num_threads(1);  // one thread: reproducible, and no pool to leak-check
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tinyq::fuzz::require;
  static const tinyq::LayerRegistry registry = tinyq::all_layers();
  const std::span<const std::uint8_t> input(data, size);
  tinyq::Sequential model;
  try {
    model = tinyq::deserialize_model(input, "fuzz.tqm", registry);
  } catch (const tinyq::Error&) {
    return 0;
  }
  tinyq::fuzz::require_model_runs(model);

  const auto bytes = tinyq::serialize_model(model);
  try {
    const tinyq::Sequential again = tinyq::deserialize_model(bytes, "resaved.tqm", registry);
    require(again.size() == model.size(), "resaved model has a different layer count");
  } catch (const tinyq::Error&) {
    require(false, "a loaded model saves to bytes that do not load");
  }
  return 0;
}
