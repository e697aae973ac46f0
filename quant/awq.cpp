// The α search and the exact fold of activation-aware scaling.
#include "quant/awq.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nn/dense.hpp"
#include "quant/gptq.hpp"
#include "quant/methods.hpp"
#include "quant/quantize.hpp"

namespace tinyq {

namespace {

// Σ_n ||x_n (W - W')ᵀ||² = Σ_r d_r G d_rᵀ with d = W - W' and G = Σ x xᵀ:
// one Gram matrix (here H = 2 G / n, the same up to a constant) serves every α.
double output_error(const Tensor& w, const Tensor& approx, const std::vector<double>& gram) {
  const std::size_t rows = w.dim(0), n = w.dim(1);
  std::vector<double> d(n);
  double total = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < n; ++c) d[c] = double(w(r, c)) - approx(r, c);
    total += quadratic_error(gram, d);
  }
  return total;
}

// W diag(s) rounded to nearest on config's grid, times diag(1 / s): the
// weights the scaled layer stands for, seen from unscaled inputs.
Tensor scaled_round_trip(const Tensor& w, const std::vector<double>& s,
                         const std::vector<float>& importance, const QuantConfig& config,
                         const Tensor& inputs) {
  const std::size_t rows = w.dim(0), n = w.dim(1);
  Tensor scaled = w;
  std::vector<float> scaled_importance(n);
  for (std::size_t c = 0; c < n; ++c) {
    for (std::size_t r = 0; r < rows; ++r) scaled(r, c) = float(w(r, c) * s[c]);
    scaled_importance[c] = float(importance[c] / (s[c] * s[c]));  // E[(x_c / s_c)²]
  }
  const GridChooser grid = find_grid_method(config.grid).make(inputs, config);
  Tensor back = dequantize(quantize(scaled.values(), rows, n, config.format, "awq", grid,
                                    round_to_nearest, scaled_importance));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < n; ++c) back(r, c) = float(back(r, c) / s[c]);
  return back;
}

}  // namespace

std::vector<AwqChoice> awq_rescale(Sequential& model, const QuantConfig& config,
                                   const Tensor& calibration) {
  std::vector<AwqChoice> choices;
  Tensor inputs = calibration;  // what reaches layer i in the (rescaled) float model
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto* dense = dynamic_cast<Dense*>(&model.layer(i));
    auto* previous = i >= 2 ? dynamic_cast<Dense*>(&model.layer(i - 2)) : nullptr;
    const auto is_kept = [&](std::size_t k) {
      return std::find(config.keep_float.begin(), config.keep_float.end(), k) !=
             config.keep_float.end();
    };
    // Row scales are free for the layer before unless it has one grid for all rows.
    const bool fold_is_free =
        config.format.granularity != Granularity::tensor || (i >= 2 && is_kept(i - 2));
    if (dense && previous && !is_kept(i) && fold_is_free && model.layer(i - 1).kind() == "relu") {
      const std::size_t n = inputs.dim(1), samples = inputs.dim(0);
      std::vector<double> mean_abs(n, 0.0);
      std::vector<float> importance(n, 0.0f);
      for (std::size_t k = 0; k < samples; ++k)
        for (std::size_t c = 0; c < n; ++c) {
          mean_abs[c] += std::fabs(inputs(k, c)) / double(samples);
          importance[c] += float(double(inputs(k, c)) * inputs(k, c) / double(samples));
        }
      // A channel that is never active would get s = 0; floor it at 1e-4 of the largest.
      const double largest = *std::max_element(mean_abs.begin(), mean_abs.end());
      for (double& m : mean_abs) m = std::max(m, 1e-4 * largest);
      const std::vector<double> gram = gptq_hessian(inputs);
      const Tensor& w = dense->weight();
      AwqChoice best{i, 0.0};
      double best_error = std::numeric_limits<double>::infinity();
      std::vector<double> best_s(n, 1.0);
      for (int step = 0; step <= 20 && largest > 0.0; ++step) {
        const double alpha = step / 20.0;
        std::vector<double> s(n);
        double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
        for (std::size_t c = 0; c < n; ++c) {
          s[c] = std::pow(mean_abs[c], alpha);
          lo = std::min(lo, s[c]);
          hi = std::max(hi, s[c]);
        }
        for (double& v : s) v /= std::sqrt(lo * hi);
        const double error =
            output_error(w, scaled_round_trip(w, s, importance, config, inputs), gram);
        if (error < best_error) {
          best_error = error;
          best = {i, alpha};
          best_s = s;
        }
      }
      // The fold: W[:, c] · s_c here, row c and bias c of the Dense before / s_c.
      Tensor& weight = dense->weight();
      for (std::size_t r = 0; r < weight.dim(0); ++r)
        for (std::size_t c = 0; c < n; ++c) weight(r, c) = float(weight(r, c) * best_s[c]);
      for (std::size_t c = 0; c < n; ++c) {
        for (float& v : previous->weight().row(c)) v = float(v / best_s[c]);
        previous->bias()[c] = float(previous->bias()[c] / best_s[c]);
      }
      choices.push_back(best);
      // The inputs of the layers after this one are unchanged by the fold
      // except through this layer, which now sees x / s: recompute from scratch.
      inputs = calibration;
      for (std::size_t j = 0; j <= i; ++j) inputs = model.layer(j).forward(inputs);
      continue;
    }
    if (i + 1 < model.size()) inputs = model.layer(i).forward(inputs);
  }
  return choices;
}

}  // namespace tinyq
