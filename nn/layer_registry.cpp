// Looking up layer kinds and building layers from their state.
#include "nn/layer_registry.hpp"

#include "core/error.hpp"
#include "nn/dense.hpp"
#include "nn/relu.hpp"

namespace tinyq {

void LayerRegistry::add(LayerKind kind) {
  const std::string name = kind.name;
  kinds_[name] = std::move(kind);
}

const LayerKind& LayerRegistry::find(const std::string& name, const std::string& where) const {
  const auto it = kinds_.find(name);
  if (it != kinds_.end()) return it->second;
  std::string known;
  for (const auto& entry : kinds_) known += (known.empty() ? "" : ", ") + entry.first;
  throw Error(where + ": unknown layer kind \"" + name + "\" (known: " + known + ")");
}

std::unique_ptr<Layer> LayerRegistry::build(const std::string& name, const StateDict& state,
                                            const std::string& where) const {
  const LayerKind& kind = find(name, where);
  check_finite(state, where);
  return kind.from_state(state, where);
}

LayerRegistry float_layers() {
  LayerRegistry registry;
  registry.add({"dense", Dense::from_state, Dense::state_from_v1_payload});
  registry.add({"relu", Relu::from_state, Relu::state_from_v1_payload});
  return registry;
}

}  // namespace tinyq
