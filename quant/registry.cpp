// The table of quantized layer kinds.
#include "quant/registry.hpp"

#include "quant/quantize_dense.hpp"
#include "quant/quantized_dense.hpp"
#include "quant/static_int8/static_dense.hpp"

namespace tinyq {

const std::vector<QuantizedKind>& quantized_kinds() {
  static const std::vector<QuantizedKind> table = {
      {{"quantized_dense", QuantizedDense::from_state, QuantizedDense::state_from_v1_payload},
       "dense",
       quantize_dense},
      // Built for a whole model at once by quantize_static_int8
      // (quant/static_int8/quantize_static.hpp), which needs every layer's
      // calibrated output range: no per-layer quantizer.
      {{"static_int8_dense", StaticInt8Dense::from_state, {}}, "dense", {}},
  };
  return table;
}

LayerRegistry all_layers() {
  LayerRegistry registry = float_layers();
  for (const QuantizedKind& kind : quantized_kinds()) registry.add(kind.layer);
  return registry;
}

const QuantizedKind* quantizer_for(const std::string& float_kind) {
  for (const QuantizedKind& kind : quantized_kinds())
    if (kind.replaces == float_kind && kind.quantize) return &kind;
  return nullptr;
}

bool is_quantized(const Layer& layer) {
  for (const QuantizedKind& kind : quantized_kinds())
    if (kind.layer.name == layer.kind()) return true;
  return false;
}

bool is_quantized(const Sequential& model) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (is_quantized(model.layer(i))) return true;
  return false;
}

}  // namespace tinyq
