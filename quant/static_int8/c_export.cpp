// export_c: print the layers' integers and the C pipeline around them.
#include "quant/static_int8/c_export.hpp"

#include <algorithm>
#include <sstream>

namespace tinyq {

namespace {

// The C helpers, in the order fixed_point.hpp defines them.
constexpr const char* c_helpers =
    R"(/* round(a*b / 2^31), ties toward +infinity; INT32_MIN * INT32_MIN saturates. */
static int32_t tinyq_high_mul(int32_t a, int32_t b) {
  int64_t product, nudge;
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  product = (int64_t)a * (int64_t)b;
  nudge = product >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
  return (int32_t)((product + nudge) / ((int64_t)1 << 31)); /* truncates toward 0 */
}

/* round(x / 2^e), ties away from zero. */
static int32_t tinyq_divide_by_pot(int32_t x, int32_t e) {
  int64_t magnitude = x < 0 ? -(int64_t)x : (int64_t)x;
  if (e == 0) return x;
  magnitude = (magnitude + ((int64_t)1 << (e - 1))) >> e;
  return (int32_t)(x < 0 ? -magnitude : magnitude);
}

/* x * m0 * 2^(shift - 31); a left shift saturates to int32 first. */
static int32_t tinyq_requantize(int32_t x, int32_t m0, int32_t shift) {
  if (shift > 0) {
    int64_t shifted = (int64_t)x * ((int64_t)1 << shift);
    if (shifted > INT32_MAX) shifted = INT32_MAX;
    if (shifted < INT32_MIN) shifted = INT32_MIN;
    return tinyq_high_mul((int32_t)shifted, m0);
  }
  return tinyq_divide_by_pot(tinyq_high_mul(x, m0), -shift);
}

/* acc_j = bias_j + sum_i in_i * w_ji (bias_j already holds -z_in * sum_i w_ji). */
static int32_t tinyq_dot(const uint8_t *in, const int8_t *w, int32_t n, int32_t bias) {
  int32_t acc = bias;
  int32_t i;
  for (i = 0; i < n; ++i) acc += (int32_t)in[i] * (int32_t)w[i];
  return acc;
}

static void tinyq_layer_u8(const uint8_t *in, int32_t n_in, int32_t n_out, const int8_t *w,
                           const int32_t *bias, const int32_t *m0, const int32_t *shift,
                           int32_t zero_point, int32_t lo, uint8_t *out) {
  int32_t j;
  for (j = 0; j < n_out; ++j) {
    int32_t v = tinyq_requantize(tinyq_dot(in, w + j * n_in, n_in, bias[j]), m0[j], shift[j]);
    if (v < lo - zero_point) v = lo - zero_point;
    if (v > 255 - zero_point) v = 255 - zero_point;
    out[j] = (uint8_t)(v + zero_point);
  }
}

static void tinyq_layer_scores(const uint8_t *in, int32_t n_in, int32_t n_out, const int8_t *w,
                               const int32_t *bias, const int32_t *m0, const int32_t *shift,
                               int32_t *scores) {
  int32_t j;
  for (j = 0; j < n_out; ++j)
    scores[j] = tinyq_requantize(tinyq_dot(in, w + j * n_in, n_in, bias[j]), m0[j], shift[j]);
}
)";

template <class T>
void print_array(std::ostringstream& out, const char* type, const std::string& name,
                 const std::vector<T>& values) {
  out << "static const " << type << " " << name << "[" << values.size() << "] = {";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out << (i % 16 == 0 ? "\n  " : " ") << std::int64_t{values[i]};
    if (i + 1 < values.size()) out << ",";
  }
  out << "\n};\n";
}

}  // namespace

CExportSizes c_export_sizes(const StaticInt8Network& network) {
  CExportSizes sizes;
  std::size_t widest[2] = {0, 0};
  for (std::size_t l = 0; l < network.layers().size(); ++l) {
    const auto& p = network.layers()[l].params();
    sizes.flash_bytes += p.in * p.out + 3 * 4 * p.out;
    if (!p.scores) widest[l % 2] = std::max(widest[l % 2], p.out);
  }
  sizes.ram_bytes = widest[0] + widest[1];
  return sizes;
}

std::string export_c(const StaticInt8Network& network, const std::string& source) {
  const auto& layers = network.layers();
  const CExportSizes sizes = c_export_sizes(network);
  std::ostringstream out;
  out << "/* Static int8 MLP exported by tinyq from " << source << ".\n"
      << " * C99, integers only: include nothing else, call\n"
      << " *   int tinyq_predict(const uint8_t pixels[" << network.inputs() << "], int32_t scores["
      << network.outputs() << "]);\n"
      << " * with the raw 8-bit pixels; it returns the predicted class.\n"
      << " * Flash: " << sizes.flash_bytes << " bytes of const arrays; RAM: " << sizes.ram_bytes
      << " bytes of activation buffers on the stack (plus scores).\n"
      << " * Per layer: acc = bias + sum in*w; out = requantize(acc) (+ zero point, clamped),\n"
      << " * the last layer's int32 scores unclamped (tinyq: quant/static_int8/static_dense.hpp).\n"
      << " */\n#include <stdint.h>\n\n";
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& p = layers[l].params();
    const std::string prefix = "tinyq_layer" + std::to_string(l) + "_";
    out << "/* layer " << l << ": " << p.in << " -> " << p.out
        << (p.scores ? ", int32 scores"
                     : ", u8 codes, zero point " + std::to_string(p.output.zero_point) +
                           (p.relu ? ", relu" : ""))
        << " */\n";
    print_array(out, "int8_t", prefix + "weight", p.weight);
    print_array(out, "int32_t", prefix + "bias", layers[l].folded_bias());
    std::vector<std::int32_t> m0, shift;
    for (const auto& m : p.multiplier) {
      m0.push_back(m.m0);
      shift.push_back(m.shift);
    }
    print_array(out, "int32_t", prefix + "m0", m0);
    print_array(out, "int32_t", prefix + "shift", shift);
    out << "\n";
  }
  out << c_helpers << "\n";
  std::size_t widest[2] = {1, 1};
  for (std::size_t l = 0; l + 1 < layers.size(); ++l)
    widest[l % 2] = std::max(widest[l % 2], layers[l].params().out);
  out << "int tinyq_predict(const uint8_t pixels[" << network.inputs() << "], int32_t scores["
      << network.outputs() << "]) {\n"
      << (layers.size() > 1 ? "  uint8_t even[" + std::to_string(widest[0]) + "];\n" : "")
      << (layers.size() > 2 ? "  uint8_t odd[" + std::to_string(widest[1]) + "];\n" : "")
      << "  int32_t j, best = 0;\n";
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& p = layers[l].params();
    const std::string prefix = "tinyq_layer" + std::to_string(l) + "_";
    const std::string in = l == 0 ? "pixels" : (l - 1) % 2 == 0 ? "even" : "odd";
    const std::string args = in + ", " + std::to_string(p.in) + ", " + std::to_string(p.out) +
                             ", " + prefix + "weight, " + prefix + "bias, " + prefix + "m0, " +
                             prefix + "shift, ";
    if (p.scores)
      out << "  tinyq_layer_scores(" << args << "scores);\n";
    else
      out << "  tinyq_layer_u8(" << args << p.output.zero_point << ", "
          << (p.relu ? p.output.zero_point : 0) << ", " << (l % 2 == 0 ? "even" : "odd") << ");\n";
  }
  out << "  for (j = 1; j < " << network.outputs() << "; ++j)\n"
      << "    if (scores[j] > scores[best]) best = j;\n"
      << "  return (int)best;\n}\n";
  return out.str();
}

}  // namespace tinyq
