// A quantized model as a safetensors file that numpy can read without tinyq.
//
// Layers are numbered by position in the model, ReLUs included, as PyTorch
// numbers an nn.Sequential. For the layer at position i:
//
//   QuantizedDense (weight W [out, in], bias b [out]):
//     i.weight.codes    U8  [out, row_bytes]  the packed integer codes, exactly
//                       as stored: row r holds the codes of W's row r as one
//                       little-endian bit stream, `bits` bits per code, least
//                       significant bit first; row_bytes = ceil(in·bits / 8)
//                       and unused bits at the end of a row are zero. Codes
//                       are unsigned (asymmetric) or `bits`-bit two's
//                       complement (symmetric). At 8 bits: one byte per
//                       weight, uint8 or int8.
//     i.weight.scales   F32 [blocks]  levels per unit of w, one per block
//     i.weight.offsets  F32 [blocks]  block minimum; asymmetric only
//     i.bias            F32 [out]
//   Dense kept in float:  i.weight F32 [out, in], i.bias F32 [out]
//   ReLU:                 no tensors
//
// Blocks share one scale (and offset): the whole matrix (tensor
// granularity, blocks = 1), one row (channel, blocks = out) or G consecutive
// weights of one row (group, blocks = out · ceil(in / G), numbered row by
// row; the last group of a row may be shorter). The weights are
//
//   asymmetric:  w[r, c] = q[r, c] / scales[b] + offsets[b]
//   symmetric:   w[r, c] = q[r, c] / scales[b]
//
// with b = 0, r, or r · ceil(in / G) + c / G. In numpy, for one layer:
//
//   bits_ = np.unpackbits(codes, axis=1, bitorder="little")[:, :in_ * bits]
//   q = (bits_.reshape(out, in_, bits) << np.arange(bits)).sum(-1)
//   if symmetric: q = np.where(q >= 2 ** (bits - 1), q - 2 ** bits, q)
//   b = block index per (r, c) as above;  w = q / scales[b] (+ offsets[b])
//
// "__metadata__" (all values are strings):
//   tinyq.format      "quantized-mlp/1": this layout, version 1
//   tinyq.layers      the layer kinds in order, comma-separated, e.g.
//                     "quantized_dense,relu,quantized_dense,relu,dense"
//   i.weight.format   per quantized layer: scheme/granularity/bits, e.g.
//                     "asymmetric/channel/8" or "symmetric/group-64/4"
//   i.weight.shape    per quantized layer: "out,in" of the float weight
//
// Reading refuses, naming the file: an unknown format version, a layer kind
// other than dense, relu and quantized_dense, a missing or extra tensor, a
// wrong dtype or shape, a malformed format string, and (through
// QuantizedDense) codes out of range, non-zero padding bits or scales that
// are not finite and positive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "nn/sequential.hpp"

namespace tinyq {

inline constexpr const char* quantized_safetensors_format = "quantized-mlp/1";

// Any model of Dense, ReLU and QuantizedDense layers, laid out as above.
std::vector<std::uint8_t> quantized_safetensors_from_sequential(const Sequential& model);

// The model such a file holds; errors start with `source`.
Sequential sequential_from_quantized_safetensors(const SafetensorsFile& file,
                                                 const std::string& source);

// Either layout: the quantized one when the metadata says tinyq.format, else
// a float MLP in PyTorch's naming (nn/safetensors_mlp.hpp).
Sequential sequential_from_any_safetensors(const SafetensorsFile& file, const std::string& source);

}  // namespace tinyq
