// The layer registry for reading any tinyq model file, float or quantized.
#pragma once

#include "nn/model_file.hpp"

namespace tinyq {

// float_layers() plus "quantized_dense": load_model(path, all_layers()).
LayerRegistry all_layers();

}  // namespace tinyq
