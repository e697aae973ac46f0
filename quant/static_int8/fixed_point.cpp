// The fixed-point helpers; the roundings are explained in fixed_point.hpp.
#include "quant/static_int8/fixed_point.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tinyq {

QuantizedMultiplier quantize_multiplier(double m) {
  if (!std::isfinite(m) || m < 0.0 || m >= 1073741824.0)
    throw Error("quantize_multiplier: expected a finite multiplier in [0, 2^30), found " +
                std::to_string(m));
  if (m == 0.0) return {};
  int shift = 0;
  const double q = std::frexp(m, &shift);  // m = q · 2^shift, q in [0.5, 1)
  std::int64_t m0 = std::llround(q * 2147483648.0);
  if (m0 == (std::int64_t{1} << 31)) {
    m0 /= 2;
    ++shift;
  }
  if (shift < -31) return {};
  return {static_cast<std::int32_t>(m0), static_cast<std::int32_t>(shift)};
}

}  // namespace tinyq
