// libFuzzer target: safetensors model files (nn/safetensors and the float
// and quantized model layouts in nn/safetensors_mlp, quant/quantized_safetensors).
//
// Every input must parse or throw tinyq::Error; the JSON header, offsets and
// shapes are all untrusted. A file that becomes a model must run a forward
// pass and export to safetensors that read back.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "core/thread_pool.hpp"
#include "fuzz_check.hpp"
#include "fuzz_model_check.hpp"
#include "nn/model_safetensors.hpp"
#include "quant/registry.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tinyq::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tinyq::fuzz::require;
  const std::span<const std::uint8_t> input(data, size);
  tinyq::SafetensorsFile file;
  try {
    file = tinyq::read_safetensors(input, "fuzz.safetensors");
  } catch (const tinyq::Error&) {
    return 0;
  }
  static const tinyq::LayerRegistry registry = tinyq::all_layers();
  tinyq::Sequential model;
  try {
    model = tinyq::model_from_safetensors(file, "fuzz.safetensors", registry);
  } catch (const tinyq::Error&) {
    return 0;
  }
  tinyq::fuzz::require_model_runs(model);
  try {
    const auto bytes = tinyq::model_to_safetensors(model);
    const auto again = tinyq::read_safetensors(bytes, "resaved.safetensors");
    require(tinyq::model_from_safetensors(again, "resaved.safetensors", registry).size() ==
                model.size(),
            "resaved model has a different layer count");
  } catch (const tinyq::Error&) {
    require(false, "a loaded model exports to safetensors that do not load");
  }
  return 0;
}
