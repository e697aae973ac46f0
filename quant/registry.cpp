// Adds the quant module's layer kinds to nn's float registry.
#include "quant/registry.hpp"

#include "quant/quantized_dense.hpp"

namespace tinyq {

LayerRegistry all_layers() {
  LayerRegistry registry = float_layers();
  registry.add("quantized_dense", &QuantizedDense::load);
  return registry;
}

}  // namespace tinyq
