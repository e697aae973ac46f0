// A static int8 model as one self-contained C99 file: the weights as static
// const arrays, the integer pipeline written out in plain C with no float, no
// allocation and no include beyond <stdint.h>, and
//
//   int tinyq_predict(const uint8_t pixels[IN], int32_t scores[OUT]);
//
// returning the predicted class (the first largest score). Its scores equal
// StaticInt8Network's bit for bit (tests/test_static_int8_export.sh checks
// that with the system C compiler). The arithmetic is the one in
// fixed_point.hpp, spelled so that it relies on nothing C leaves to the
// implementation: products in int64, division truncating toward zero (C99),
// no right shift of a negative number.
#pragma once

#include <cstddef>
#include <string>

#include "quant/static_int8/static_network.hpp"

namespace tinyq {

struct CExportSizes {
  std::size_t flash_bytes = 0;  // every const array: weights, biases, multipliers, shifts
  std::size_t ram_bytes = 0;    // the two activation buffers tinyq_predict keeps on its stack
};

CExportSizes c_export_sizes(const StaticInt8Network& network);

// The C file; `source` (the model's file name) goes into its header comment.
std::string export_c(const StaticInt8Network& network, const std::string& source);

}  // namespace tinyq
